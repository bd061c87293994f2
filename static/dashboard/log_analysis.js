/* Log analysis pages: drag and drop onto the upload form, and a job's live progress.
 * Data never becomes markup: everything is written with textContent / setAttribute. */
(function () {
  "use strict";

  /* Upload: files dropped on the zone become the form's file input selection. */
  const zone = document.getElementById("dropzone");
  if (zone) {
    const input = zone.querySelector('input[type="file"]');
    const list = document.getElementById("dropzone-files");
    const show = () => {
      const names = Array.from(input.files || []).map((f) => f.name);
      if (names.length && list) list.textContent = names.join(", ");
    };
    ["dragenter", "dragover"].forEach((name) =>
      zone.addEventListener(name, (event) => {
        event.preventDefault();
        zone.classList.add("dragging");
      })
    );
    ["dragleave", "drop"].forEach((name) =>
      zone.addEventListener(name, () => zone.classList.remove("dragging"))
    );
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        show();
      }
    });
    input.addEventListener("change", show);
  }

  /* A job's page: progress pushed over the dashboard websocket. */
  const panel = document.getElementById("job-progress");
  const live = window.RcaLive;
  if (!panel || !live) return;
  const jobId = panel.dataset.jobId;
  const FINISHED = ["done", "failed", "cancelled"];
  const LABELS = {
    queued: "Queued",
    reading: "Reading",
    mining: "Mining",
    analysing: "Analysing",
    done: "Done",
    failed: "Failed",
    cancelled: "Cancelled",
  };

  function node(name) {
    return panel.querySelector('[data-live="' + name + '"]');
  }

  function apply(job) {
    const status = node("job-status");
    status.textContent = LABELS[job.status] || job.status;
    status.className = "badge job-" + job.status;
    const bar = node("job-progress");
    bar.value = job.progress;
    bar.textContent = job.progress + "%"; /* its fallback text, read by screen readers */
    node("job-percent").textContent = String(job.progress);
    node("job-step").textContent = job.step || "";
    /* A failed or cancelled job shows no percentage (as the page rendered for it does). */
    node("job-meter").hidden = FINISHED.includes(job.status) && job.status !== "done";
    const error = node("job-error");
    error.textContent = job.error || "";
    error.hidden = !job.error;
    panel.dataset.status = job.status;
    if (FINISHED.includes(job.status)) {
      const cancel = document.querySelector('[data-live="cancel"]');
      if (cancel) cancel.hidden = true;
      if (job.status === "done" && !document.querySelector(".rca-text")) {
        node("job-done").hidden = false;
        window.location.reload();
      }
    }
  }

  /* The job may have moved on between this page's render and the socket opening (a short log
   * is done in a second): read its state once the socket is live, so no step is missed. */
  function catchUp() {
    fetch("/api/v1/log-analyses/" + encodeURIComponent(jobId) + "/", {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      cache: "no-store",
    })
      .then((r) => (r.ok ? r.json() : null))
      .then((job) => {
        if (job && job.id === jobId) apply(job);
      })
      .catch(() => {});
  }

  if (FINISHED.includes(panel.dataset.status)) return;
  live.connect({
    message() {},
    opened: catchUp,
    logAnalysis(job) {
      if (job && job.id === jobId) apply(job);
    },
    resync() {
      window.location.reload();
    },
  });
})();

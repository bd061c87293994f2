/* Ticket detail: follows this ticket's changes live (status, SLA, occurrences, actions). */
(function () {
  "use strict";

  const live = window.RcaLive;
  const config = live.config;
  const ticketId = config.ticket_id;
  const transitions = config.transitions || {};
  const RCA_SOURCES = {
    pending: "Not analysed yet",
    rules: "Rule-based",
    gemini: "Gemini",
    "log-analysis": "Log analysis",
  };

  function one(name) {
    return document.querySelector('[data-live="' + name + '"]');
  }

  function setText(name, text) {
    const node = one(name);
    if (node && text !== undefined && text !== null) node.textContent = String(text);
  }

  function updateButtons(status) {
    document.querySelectorAll("#ticket-actions button[data-action]").forEach((button) => {
      const from = transitions[button.dataset.action] || [];
      button.hidden = !from.includes(status);
    });
  }

  function banner(text) {
    const node = document.getElementById("live-banner");
    if (!node) return;
    node.querySelector(".live-banner-text").textContent = text;
    node.hidden = false;
  }

  function apply(msg) {
    const t = msg.ticket;
    if (t.id !== ticketId) return;
    const label = live.STATUS_LABELS[t.status] || t.status;
    const badge = one("status");
    if (badge) {
      badge.textContent = label;
      badge.className = "badge status status-" + String(t.status).replace(/[^a-z_]/g, "");
    }
    setText("status-text", label);
    setText("sla_status", t.sla_status);
    setText("occurrence_count", t.occurrence_count);
    setText("rca_source", RCA_SOURCES[t.rca_source] || t.rca_source);
    if (t.status !== "acknowledged") setText("ack", "—");
    else if (msg.action === "acknowledge") setText("ack", (msg.actor || "someone") + " · just now");
    const sla = one("sla");
    if (sla) {
      sla.dataset.status = t.status;
      sla.dataset.slaStatus = t.sla_status || "";
      sla.dataset.deadline = t.sla_deadline || "";
    }
    updateButtons(t.status);
    live.tick();
    banner(
      "Updated live: " +
        live.humanAction(msg.action) +
        (msg.actor ? " by " + msg.actor : "") +
        ". Reload for the full audit trail and analysis."
    );
  }

  function resync() {
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error(String(r.status)))))
      .then((html) => {
        const doc = new DOMParser().parseFromString(html, "text/html");
        doc.querySelectorAll("[data-live]").forEach((fresh) => {
          const target = one(fresh.dataset.live);
          if (!target) return;
          target.textContent = fresh.textContent;
          target.className = fresh.className;
          for (const key of ["status", "slaStatus", "deadline"]) {
            if (key in fresh.dataset) target.dataset[key] = fresh.dataset[key];
          }
        });
        const status = doc.querySelector('[data-live="sla"]');
        if (status) updateButtons(status.dataset.status);
        live.tick();
      })
      .catch(() => {});
  }

  live.connect({ message: apply, resync });
})();

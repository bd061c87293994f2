/* Incident page: follows this incident live. A change of the incident (incident.changed) or of
 * one of its members (ticket.changed), and a reconnect, make the page read its changing parts
 * again from the server (head with status and counts, action buttons, members, timeline: the
 * `data-live-part` elements, at live_url), once for a burst of events. */
(function () {
  "use strict";

  const live = window.RcaLive;
  const config = live.config;
  const incidentId = config.incident_id;
  const BURST_MS = 250;

  let timer = null;
  let reading = false;
  let again = false;

  /* Read the parts soon, once for a burst. A change told while a read is under way is read
   * after it: reads never overlap, so an older one never lands after a newer one. */
  function refresh() {
    if (reading) again = true;
    else if (!timer) timer = window.setTimeout(read, BURST_MS);
  }

  function read() {
    timer = null;
    reading = true;
    fetch(config.live_url, { credentials: "same-origin", cache: "no-store" })
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error(String(r.status)))))
      .then(take)
      .catch(() => {})
      .finally(() => {
        reading = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }

  /* Swap in the parts as the server rendered them (parsed inertly, never run). */
  function take(html) {
    const doc = new DOMParser().parseFromString(html, "text/html");
    doc.querySelectorAll("[data-live-part]").forEach((fresh) => {
      const target = document.querySelector('[data-live-part="' + fresh.dataset.livePart + '"]');
      if (target) target.replaceWith(document.adoptNode(fresh));
    });
    const form = document.getElementById("incident-actions");
    if (form) {
      form.hidden = !form.querySelector("button[name=action]");
      form.elements.fix.hidden = !form.querySelector('button[value="resolve"]');
    }
  }

  function incidentChanged(msg) {
    if (msg.incident.id === incidentId) refresh();
  }

  function ticketChanged(msg) {
    if (msg.ticket.incident === incidentId) refresh();
  }

  live.connect({ message: ticketChanged, incident: incidentChanged, resync: refresh });
})();

/* Incident page: follows this incident's counts live (its members, how many of them recovered
 * at their source) from incident.changed, which carries the incident's card. */
(function () {
  "use strict";

  const live = window.RcaLive;
  const incidentId = live.config.incident_id;

  function one(name) {
    return document.querySelector('[data-live="' + name + '"]');
  }

  function show(name, text, hidden) {
    const node = one(name);
    if (!node) return;
    node.textContent = text;
    node.hidden = hidden;
  }

  function apply(msg) {
    const incident = msg.incident;
    if (incident.id !== incidentId) return;
    show("member-count", (Number(incident.member_count) || 0) + " members", false);
    const recovered = Number(incident.recovered_count) || 0;
    show("recovered-count", recovered + " recovered", !recovered);
  }

  /* After a reconnect: take the counts of this same page (parsed inertly, never run). */
  function resync() {
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error(String(r.status)))))
      .then((html) => {
        const doc = new DOMParser().parseFromString(html, "text/html");
        doc.querySelectorAll("[data-live]").forEach((fresh) => {
          show(fresh.dataset.live, fresh.textContent, fresh.hidden);
        });
      })
      .catch(() => {});
  }

  live.connect({ message() {}, incident: apply, resync });
})();

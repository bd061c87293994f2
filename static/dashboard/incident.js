/* Incident page: follows this incident live. A change of the incident (incident.changed) or of
 * one of its members (ticket.changed), and a reconnect, make the page read its changing parts
 * again from the server (head with status and counts, action buttons, the shared cause once
 * analysed, members, timeline: the `data-live-part` elements, at live_url), once for a burst
 * of events. */
(function () {
  "use strict";

  const live = window.RcaLive;
  const config = live.config;
  const incidentId = config.incident_id;

  /* Once the parts are swapped in (`RcaLive.partsReader`): the action form follows them.
   * "What fixed it" only with Resolve (hidden, it is not sent: what was typed in it stays for
   * when Resolve is offered again). */
  function take() {
    const form = document.getElementById("incident-actions");
    if (form) {
      form.hidden = !form.querySelector("button[name=action]");
      const resolvable = Boolean(form.querySelector('button[value="resolve"]'));
      form.elements.fix.hidden = !resolvable;
      form.elements.fix.disabled = !resolvable;
    }
  }

  function incidentChanged(msg) {
    if (msg.incident.id === incidentId) refresh();
  }

  function ticketChanged(msg) {
    if (msg.ticket.incident === incidentId) refresh();
  }

  const refresh = live.partsReader(config.live_url, take);

  live.connect({ message: ticketChanged, incident: incidentChanged, resync: refresh });
})();

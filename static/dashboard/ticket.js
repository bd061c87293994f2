/* Ticket detail: follows this ticket's changes live (status, SLA, occurrences, actions), and
 * says so when it is folded into another. A new analysis ("analysed"), a remediation's change,
 * a change of status and a reconnect make the page read its changing parts again from the
 * server (the RCA and remediation panels and the facts box with who acknowledged and resolved
 * it when: the `data-live-part` elements), once for a burst of events; so do a repeat (a new
 * occurrence count) and a part's recovery that keeps the ticket open, for the parts counted
 * failing under the title (`data-live` elements), and so do the incident events that may
 * change which incident the ticket is in (`incidentChanged`). Its severity, priority and
 * class badges take each change's values. */
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

  const RECOUNTED = ["mapped instance recovered", "task recovered"];

  function one(name) {
    return document.querySelector('[data-live="' + name + '"]');
  }

  function setText(name, text) {
    const node = one(name);
    if (node && text !== undefined && text !== null) node.textContent = String(text);
  }

  /* The actions the status allows; "What fixed it" only with Resolve (hidden, it is not sent:
   * what was typed in it stays for when Resolve is offered again). */
  function updateButtons(status) {
    document.querySelectorAll("#ticket-actions button[data-action]").forEach((button) => {
      const from = transitions[button.dataset.action] || [];
      button.hidden = !from.includes(status);
    });
    const fix = document.querySelector("#ticket-actions input[name=fix]");
    if (fix) {
      const resolvable = (transitions.resolve || []).includes(status);
      fix.hidden = !resolvable;
      fix.disabled = !resolvable;
    }
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
    const sla = one("sla");
    const moved = !sla || sla.dataset.status !== t.status;
    const label = live.STATUS_LABELS[t.status] || t.status;
    const badge = one("status");
    if (badge) {
      badge.textContent = label;
      badge.className = "badge status status-" + String(t.status).replace(/[^a-z_]/g, "");
    }
    setText("status-text", label);
    // Analysis raises a ticket's severity (and priority) when its fetched text calls for it,
    // and the rule classifier may name another class than ingest did.
    const severity = one("severity");
    if (severity && t.severity) {
      severity.textContent = String(t.severity);
      severity.className = "badge sev sev-" + String(t.severity).toLowerCase().replace(/[^a-z]/g, "");
    }
    setText("priority", t.priority);
    setText("error_type", t.error_type);
    setText("sla_status", t.sla_status);
    const counted = one("occurrence_count");
    const repeated = !!counted && counted.textContent !== String(t.occurrence_count);
    setText("occurrence_count", t.occurrence_count);
    setText("rca_source", RCA_SOURCES[t.rca_source] || t.rca_source);
    if (sla) {
      sla.dataset.status = t.status;
      sla.dataset.slaStatus = t.sla_status || "";
      sla.dataset.deadline = t.sla_deadline || "";
    }
    updateButtons(t.status);
    live.tick();
    const analysed = msg.action === "analysed";
    // A mapped instance or a task that succeeded while others of the ticket still fail.
    const recounted = RECOUNTED.includes(msg.action);
    const rerouted = msg.action === "re-routed";
    const regrouped = (t.incident || "") !== shownIncident();
    // The RCA panel shows the new analysis, the remediation panel drops decided buttons, the
    // facts box says who acknowledged or resolved it and when (and the team and owner a
    // re-route gave it), the line under the title the parts (mapped instances, Databricks
    // tasks) counted failing since a repeat or a recovery.
    if (
      analysed ||
      moved ||
      repeated ||
      recounted ||
      rerouted ||
      regrouped ||
      String(msg.action).startsWith("remediation")
    )
      refresh();
    banner(
      "Updated live: " +
        msg.words +
        ". Reload for the full audit trail" +
        (analysed ? "." : " and analysis.")
    );
  }

  /* The incident the page's badge names ("" for none). */
  function shownIncident() {
    const badge = one("incident");
    return badge ? badge.dataset.incident || "" : "";
  }

  /* An incident took this ticket in or let it go, the incident it is in changed (merged into
   * another), or one formed while it is in none (its earlier members join it without an event
   * of their own, and the card lists only the first of them): the page's parts are read
   * again, so the badge under the title links to the incident the ticket is in now. */
  function incidentChanged(msg) {
    const shown = shownIncident();
    if (
      msg.ticket_id === ticketId ||
      msg.incident.id === shown ||
      (msg.action === "formed" && !shown)
    )
      refresh();
  }

  /* This ticket was folded into another (its failure is one of that one's occurrences) and
   * deleted: the banner says so and links there; nothing is left to act on or reload. */
  function folded(msg) {
    if (msg.ticket_id !== ticketId) return;
    const node = document.getElementById("live-banner");
    if (!node) return;
    const link = document.createElement("a");
    link.href = live.ticketUrl(msg.into);
    link.dataset.foldedInto = msg.into;
    link.textContent = msg.into;
    node
      .querySelector(".live-banner-text")
      .replaceChildren(
        "This ticket was folded into ",
        link,
        ": its failure is counted there, and this ticket is gone."
      );
    node.querySelectorAll(".btn").forEach((button) => {
      button.hidden = true;
    });
    node.hidden = false;
    const actions = document.getElementById("ticket-actions");
    if (actions) actions.hidden = true;
  }

  /* Take the page's live values once its live parts are swapped in (`RcaLive.partsReader`). */
  function take(doc) {
    doc.querySelectorAll("[data-live]").forEach((fresh) => {
      const target = one(fresh.dataset.live);
      if (!target) return;
      target.textContent = fresh.textContent;
      target.className = fresh.className;
      target.hidden = fresh.hidden;
      for (const key of ["status", "slaStatus", "deadline", "incident"]) {
        if (key in fresh.dataset) target.dataset[key] = fresh.dataset[key];
      }
      if (fresh.hasAttribute("href")) target.setAttribute("href", fresh.getAttribute("href"));
      else target.removeAttribute("href");
    });
    const status = doc.querySelector('[data-live="sla"]');
    if (status) updateButtons(status.dataset.status);
    if (!document.getElementById("rca-under-way")) dropRcaRequestedMessages();
    live.tick();
  }

  /* "Fresh RCA requested" told what to wait for; once the RCA is shown it is stale. */
  function dropRcaRequestedMessages() {
    document.querySelectorAll(".messages .rca-requested").forEach((node) => node.remove());
    const list = document.querySelector(".messages");
    if (list && !list.children.length) list.remove();
  }

  /* A page rendered while a fresh RCA was under way reads it again once its socket is open:
   * the analysis may have landed between the render and the subscription. */
  function opened() {
    if (config.rca_under_way) {
      config.rca_under_way = false;
      refresh();
    }
  }

  const refresh = live.partsReader(window.location.href, take);

  live.connect({ message: apply, incident: incidentChanged, folded, resync: refresh, opened });
})();

/* The live board: applies ticket.changed events (insert, move between columns, update),
 * ticket.folded events (the card goes) and incident.changed events (an incident is one card
 * for all its members: a member never shows on its own). Cards are built with createElement +
 * textContent only: no ticket text is ever parsed as HTML. */
(function () {
  "use strict";

  const live = window.RcaLive;
  const config = live.config;
  const filters = config.filters || {};
  const limit = config.limit || 200;
  const board = document.getElementById("board");
  if (!board) return;

  const lists = {};
  const incidentLists = {};
  const counts = {};
  board.querySelectorAll(".column-list").forEach((node) => {
    lists[node.dataset.column] = node;
  });
  board.querySelectorAll(".column-incidents").forEach((node) => {
    incidentLists[node.dataset.incidents] = node;
  });
  board.querySelectorAll("[data-count]").forEach((node) => {
    counts[node.dataset.count] = node;
  });

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function sevClass(severity) {
    return "sev-" + String(severity || "").toLowerCase().replace(/[^a-z]/g, "");
  }

  function field(node, name) {
    node.dataset.field = name;
    return node;
  }

  /* The JIRA key opens its issue in a new tab; only an http(s) address becomes a link. */
  function linkTo(node, url) {
    if (typeof url === "string" && /^https?:\/\//i.test(url)) {
      node.href = url;
      node.target = "_blank";
      node.rel = "noopener";
    } else {
      node.removeAttribute("href");
    }
  }

  function fact(label, className) {
    const wrap = el("span", "fact" + (className ? " " + className : ""));
    wrap.title = label;
    wrap.append(el("span", "fact-label", label), document.createTextNode(" "));
    return wrap;
  }

  /* A ticket whose remediation waits for a responder's approval (a card, an incident's member). */
  function approvalBadge() {
    const badge = field(el("span", "badge approval", "Awaits approval"), "awaiting_approval");
    badge.title = "A remediation awaits a responder's approval";
    return badge;
  }

  function buildCard(card) {
    const article = el("article", "card " + sevClass(card.severity));
    article.dataset.id = card.id;
    article.dataset.status = card.status || "";
    article.dataset.timestamp = card.timestamp || "";
    article.dataset.deadline = card.sla_deadline || "";
    article.dataset.severity = card.severity || "";
    article.dataset.resolvedAt = card.resolved_at || "";

    const top = el("div", "card-top");
    const sla = el("span", "sla js-sla");
    sla.dataset.deadline = card.sla_deadline || "";
    sla.dataset.slaStatus = card.sla_status || "";
    sla.dataset.status = card.status || "";
    top.append(
      field(el("span", "badge sev " + sevClass(card.severity), card.severity), "severity"),
      field(el("span", "badge prio", card.priority), "priority")
    );
    if (card.awaiting_approval) top.append(approvalBadge());
    top.append(field(el("span", "card-source", card.source), "source"), sla);

    const title = field(el("a", "card-title", card.title || card.pipeline), "title");
    title.href = live.ticketUrl(card.id);

    const sub = el("div", "card-sub");
    sub.append(
      field(el("span", "error-type", card.error_type), "error_type"),
      field(el("span", "card-id", card.id), "id")
    );

    const foot = el("div", "card-foot");
    const age = fact("Age");
    const time = el("time", "js-age");
    time.setAttribute("datetime", card.timestamp || "");
    age.append(time);
    const seen = fact("Seen");
    seen.append(field(el("span", "", card.occurrence_count), "occurrence_count"), document.createTextNode("×"));
    const team = fact("Team", "team");
    team.append(field(el("span", "", card.team || "—"), "team"));
    foot.append(age, seen, team);
    if (card.jira_key) {
      const jira = field(el("a", "fact jira", card.jira_key), "jira_key");
      jira.title = "JIRA issue";
      linkTo(jira, card.jira_url);
      foot.append(jira);
    }

    article.append(top, title, sub, foot);
    return article;
  }

  function matches(card, alreadyShown) {
    if (filters.severity && card.severity !== filters.severity) return false;
    if (filters.source && card.source !== filters.source) return false;
    if (filters.error_type && card.error_type !== filters.error_type) return false;
    if (filters.team && card.team !== filters.team) return false;
    if (filters.q && !alreadyShown) {
      // The card carries no error text: a new ticket is shown when the search hits its id,
      // pipeline, title (an Azure alert's names its resource) or JIRA key (the server also
      // searches the error message, which names the resource, on reload).
      const q = String(filters.q).toLowerCase();
      return [card.id, card.pipeline, card.title, card.jira_key].some(
        (v) => typeof v === "string" && v.toLowerCase().includes(q)
      );
    }
    return true;
  }

  function bump(status, delta) {
    const node = counts[status];
    if (!node) return;
    // Counted past the server's limit ("1,000+"): it stays so until the board is read again.
    if (node.hasAttribute("data-capped")) return;
    const value = Math.max(0, (parseInt(node.textContent, 10) || 0) + delta);
    node.textContent = String(value);
    describeMore(status);
  }

  /* "Showing the 200 most urgent of 307." under a column that does not show all it counts. */
  function describeMore(status) {
    const note = board.querySelector('.column-more[data-more="' + status + '"]');
    if (!note || !lists[status] || !counts[status]) return;
    note.hidden = !hidesTickets(status);
    const text =
      "Showing the " + lists[status].children.length + " most urgent of " + counts[status].textContent.trim() + ".";
    if (note.textContent !== text) note.textContent = text;
  }

  function findCard(id) {
    for (const card of board.querySelectorAll(".column-list .card")) {
      if (card.dataset.id === id) return card;
    }
    return null;
  }

  function findIncident(id) {
    for (const card of board.querySelectorAll(".incident-card")) {
      if (card.dataset.incident === id) return card;
    }
    return null;
  }

  /* A member of an incident leaves the columns: its incident's card stands for it. */
  function removeTicketCard(id) {
    const existing = findCard(id);
    if (!existing) return;
    existing.remove();
    bump(existing.dataset.status, -1);
  }

  /* Most urgent first, as the server orders a column (TicketQuerySet.by_urgency): a ticket
   * whose SLA clock runs by its deadline (breached ones have the earliest), then an open or
   * in-progress one with no clock (no deadline: a Service Health notice that pages nobody),
   * oldest first, the others after them, newest first; then severity, then id. The Resolved
   * column is ordered by resolution, the latest first (`_recently_resolved`). */
  const SLA_RUNNING = live.SLA_RUNNING;
  const SEVERITY_RANK = { Critical: 0, High: 1, Medium: 2, Low: 3 };
  // Past every deadline (epoch milliseconds), short of 1e14 minus any moment.
  const AFTER_EVERY_DEADLINE = 5e13;

  function urgency(node) {
    const data = node.dataset;
    const created = Date.parse(data.timestamp) || 0;
    if (SLA_RUNNING[data.status]) {
      return Date.parse(data.deadline) || AFTER_EVERY_DEADLINE + created;
    }
    if (data.status === "resolved") return 1e14 - (Date.parse(data.resolvedAt) || created);
    return 1e14 - created;
  }

  function moreUrgent(a, b) {
    const ua = urgency(a);
    const ub = urgency(b);
    if (ua !== ub) return ua < ub;
    const sa = SEVERITY_RANK[a.dataset.severity] ?? 4;
    const sb = SEVERITY_RANK[b.dataset.severity] ?? 4;
    if (sa !== sb) return sa < sb;
    return a.dataset.id < b.dataset.id;
  }

  function insertSorted(list, node) {
    for (const child of list.children) {
      if (moreUrgent(node, child)) {
        list.insertBefore(node, child);
        return;
      }
    }
    list.append(node);
  }

  function flash(node) {
    node.classList.add("flash");
    window.setTimeout(() => node.classList.remove("flash"), 2200);
  }

  /* --- column counts ----------------------------------------------------------------------
   * A column's count is what the server counts (its tickets that match the filters and belong
   * to no incident, the Resolved column's only if resolved within the window, plus its
   * incident cards), also when it shows only the `limit` most urgent. Each ticket.changed says
   * whether the ticket is new or moved between statuses, and from which (`moved`, as of the
   * change): only then does a count change. Past the server's count limit a count reads
   * "1,000+" (`data-capped`) and stays so until the board is read again. */
  const RESOLVED_WINDOW_MS = (Number(config.resolved_window_seconds) || 7 * 86400) * 1000;

  /* Tickets the column counts but does not show (its least urgent): none unless it is full. */
  function hidesTickets(status) {
    const node = counts[status];
    const list = lists[status];
    if (!node || !list) return false;
    if (node.hasAttribute("data-capped")) return true;
    const incidentCards = incidentLists[status] ? incidentLists[status].children.length : 0;
    return (parseInt(node.textContent, 10) || 0) - incidentCards > list.children.length;
  }

  /* Whether a ticket the page does not show matches the filters: true, false, or null when
   * only the server knows (the search also reads the error text, which the card lacks). */
  function matchesUnseen(card) {
    if (!matches(card, true)) return false;
    if (matches(card, false)) return true;
    return null;
  }

  let countsTimer = null;
  /* The server decides: re-read the board (soon, once for a burst). */
  function recount() {
    if (countsTimer) return;
    countsTimer = window.setTimeout(() => {
      countsTimer = null;
      resync();
    }, 1000);
  }

  /* Whether the ticket was counted in the status it left. */
  function wasCounted(moved, card, shown) {
    if (shown) return true;
    if (!moved.from || !lists[moved.from] || card.incident) return false;
    if (moved.from === "resolved") {
      const resolved = Date.parse(moved.from_resolved_at || "");
      if (!(resolved >= live.now() - RESOLVED_WINDOW_MS)) return false;
    }
    // A column that is not full shows every ticket it counts.
    if (!hidesTickets(moved.from)) return false;
    const hit = matchesUnseen(card);
    if (hit === null) recount();
    return hit === true;
  }

  /* Whether the ticket is counted in the status it moved to. */
  function countedIn(status, card, shown) {
    if (!lists[status] || card.incident) return false;
    if (shown) return matches(card, true);
    const hit = matchesUnseen(card);
    if (hit === null) recount();
    return hit === true;
  }

  function apply(msg) {
    const card = msg.ticket;
    const existing = findCard(card.id);
    const moved = msg.moved && typeof msg.moved.to === "string" ? msg.moved : null;
    if (moved) {
      if (wasCounted(moved, card, Boolean(existing))) bump(moved.from, -1);
      if (countedIn(moved.to, card, Boolean(existing))) bump(moved.to, 1);
    } else if (existing && (card.incident || !lists[card.status] || !matches(card, true))) {
      bump(existing.dataset.status, -1); // it left the board (joined an incident)
    }
    if (existing) {
      existing.remove();
      describeMore(existing.dataset.status);
    }
    if (card.incident) {
      updateMember(card, msg.incident_awaiting_approval, msg.incident_sla);
      return;
    }
    const list = lists[card.status];
    // A ticket the page did not show, neither new nor moved, stays where it is: below the
    // column's most urgent (or outside the filters).
    if (!list || !(existing || moved) || !matches(card, Boolean(existing))) return;
    const node = buildCard(card);
    node.dataset.lastAction = String(msg.action || "");
    insertSorted(list, node);
    while (list.children.length > limit) list.lastElementChild.remove();
    describeMore(card.status);
    live.tick();
    flash(node);
  }

  /* A ticket folded into another (its failure is one of that one's occurrences) is deleted:
   * its card goes, and its column counts one less (the other's card follows with its own
   * change). Only an open ticket is folded; one the page does not show may have been counted
   * below a full column's most urgent or be an incident's member: the server recounts. */
  function applyFolded(msg) {
    if (findCard(msg.ticket_id)) {
      removeTicketCard(msg.ticket_id);
      return;
    }
    const member = Array.from(board.querySelectorAll("li[data-member]")).some(
      (item) => item.dataset.member === msg.ticket_id
    );
    if (member || hidesTickets("open")) recount();
  }

  /* --- incidents ------------------------------------------------------------------------- */

  function statusLabel(status) {
    return live.STATUS_LABELS[status] || String(status || "");
  }

  function memberItem(member) {
    const item = el("li");
    item.dataset.member = member.id;
    const link = el("a", "", member.title || member.pipeline);
    link.href = live.ticketUrl(member.id);
    const status = field(el("span", "member-status status-" + String(member.status || "").replace(/[^a-z_]/g, ""), statusLabel(member.status)), "member_status");
    item.append(link, document.createTextNode(" "), status);
    if (member.awaiting_approval) item.append(document.createTextNode(" "), approvalBadge());
    return item;
  }

  function buildIncident(incident) {
    const article = el("article", "card incident-card");
    article.dataset.incident = incident.id;

    const top = el("div", "card-top");
    top.append(
      el("span", "badge incident-badge", "Incident"),
      field(el("span", "badge sev"), "severity"),
      field(el("span", "badge status"), "status"),
      field(el("span", "badge outline"), "member_count"),
      approvalBadge(),
      field(el("span", "card-source"), "recovered"),
      field(el("span", "sla js-sla"), "sla")
    );

    const title = field(el("a", "card-title"), "culprit");
    title.href = live.incidentUrl(incident.id);

    const sub = el("div", "card-sub");
    sub.append(field(el("span", "error-type"), "error_type"), field(el("span", "card-id", incident.id), "id"));

    const details = el("details", "incident-members");
    const pageLink = el("a", "incident-link", "Incident page");
    pageLink.href = live.incidentUrl(incident.id);
    details.append(
      el("summary", "", "Members"),
      field(el("ul", "member-list"), "members"),
      field(el("p", "member-more"), "more_members"),
      pageLink
    );

    const foot = el("div", "card-foot");
    const age = fact("Age");
    age.title = "Since the first failure";
    const time = el("time", "js-age");
    age.append(time);
    const team = fact("Team", "team");
    team.append(field(el("span"), "team"));
    const jira = field(el("a", "fact jira"), "jira_key");
    jira.title = "JIRA issue";
    foot.append(age, team, jira);

    article.append(top, title, sub, details, foot);
    return article;
  }

  function part(card, name) {
    return card.querySelector('[data-field="' + name + '"]');
  }

  /* Write the incident's figures into its card, in place (an expanded card stays expanded). */
  function fillIncident(card, incident) {
    const sev = sevClass(incident.severity);
    card.className = "card incident-card " + sev;
    card.dataset.status = incident.status || "";
    card.dataset.severity = incident.severity || "";
    card.dataset.last = incident.last_member_at || "";
    const severity = part(card, "severity");
    severity.className = "badge sev " + sev;
    severity.textContent = String(incident.severity || "");
    const status = part(card, "status");
    status.className = "badge status status-" + String(incident.status || "").replace(/[^a-z_]/g, "");
    status.textContent = statusLabel(incident.status);
    const count = Number(incident.member_count) || 0;
    part(card, "member_count").textContent = count + (count === 1 ? " member" : " members");
    showAwaiting(card, incident.awaiting_approval);
    showSla(card, incident.sla);
    const recovered = Number(incident.recovered_count) || 0;
    part(card, "recovered").textContent = recovered ? recovered + " recovered" : "";
    part(card, "culprit").textContent = String(incident.culprit_words || "");
    part(card, "error_type").textContent = String(incident.error_type || "");
    part(card, "team").textContent = String(incident.team || "—");
    const jira = part(card, "jira_key");
    jira.textContent = String(incident.jira_key || "");
    jira.hidden = !incident.jira_key;
    linkTo(jira, incident.jira_url);
    card.querySelector("time.js-age").setAttribute("datetime", incident.first_seen || "");
    part(card, "members").replaceChildren(...(incident.members || []).map(memberItem));
    const more = Number(incident.more_members) || 0;
    const moreNode = part(card, "more_members");
    moreNode.textContent = "and " + more + " more";
    moreNode.hidden = !more;
  }

  /* Worst severity first, then the latest to grow (as the server orders them). */
  function incidentFirst(a, b) {
    const sa = SEVERITY_RANK[a.dataset.severity] ?? 4;
    const sb = SEVERITY_RANK[b.dataset.severity] ?? 4;
    if (sa !== sb) return sa < sb;
    const la = Date.parse(a.dataset.last) || 0;
    const lb = Date.parse(b.dataset.last) || 0;
    if (la !== lb) return la > lb;
    return a.dataset.incident < b.dataset.incident;
  }

  function placeIncident(list, node) {
    for (const child of list.children) {
      if (child !== node && incidentFirst(node, child)) {
        list.insertBefore(node, child);
        return;
      }
    }
    list.append(node);
  }

  /* A member changed (status): its line in the incident's card follows, the card's count of
   * members awaiting approval when the message carries it (a remediation's change), and its
   * SLA clock (the open member due first: this one's change may have stopped or moved it). */
  function updateMember(card, awaiting, sla) {
    const incident = findIncident(card.incident);
    if (!incident) return;
    for (const item of incident.querySelectorAll("li[data-member]")) {
      if (item.dataset.member === card.id) item.replaceWith(memberItem(card));
    }
    if (awaiting !== undefined) showAwaiting(incident, awaiting);
    if (sla !== undefined) {
      showSla(incident, sla);
      live.tick();
    }
  }

  /* The incident's SLA clock, as a ticket card's (live.js ticks it): that of its open member
   * due first, or how its members' clocks ended once none runs; hidden without members. */
  function showSla(incidentCard, sla) {
    const node = part(incidentCard, "sla");
    node.hidden = !sla;
    node.dataset.deadline = (sla && sla.sla_deadline) || "";
    node.dataset.slaStatus = (sla && sla.sla_status) || "";
    node.dataset.status = (sla && sla.status) || "";
    node.title = !sla
      ? ""
      : sla.ticket
        ? "The open member due first: " + String(sla.title || sla.pipeline || "") + " (" + String(sla.ticket) + ")"
        : "Every member is acknowledged or resolved";
  }

  function showAwaiting(incidentCard, count) {
    const badge = part(incidentCard, "awaiting_approval");
    const n = Number(count) || 0;
    badge.textContent = n + (n === 1 ? " awaits approval" : " await approval");
    badge.hidden = !n;
  }

  // Membership changes of more than the one ticket named: the server's board is the truth.
  const REGROUPED = { formed: true, merged: true, merged_into: true, detached: true };
  const JOINED = { formed: true, joined: true, recurred: true };
  const hasFilters = Object.keys(filters).length > 0;

  function applyIncident(msg) {
    const incident = msg.incident;
    // A ticket on its own until it joined (`left`: its status then) that has no card here was
    // counted only below a full column's most urgent, if it matched the filters as it was:
    // the server recounts.
    if (msg.ticket_id && msg.left && !findCard(msg.ticket_id) && hidesTickets(msg.left)) recount();
    (incident.members || []).forEach((member) => removeTicketCard(member.id));
    if (msg.ticket_id && JOINED[msg.action]) removeTicketCard(msg.ticket_id);
    const existing = findIncident(incident.id);
    const list = incidentLists[incident.status];
    if (incident.merged_into || !incident.member_count || !list) {
      if (existing) {
        bump(existing.dataset.status, -1);
        existing.remove();
      }
    } else if (existing) {
      const before = existing.dataset.status;
      fillIncident(existing, incident);
      if (before !== incident.status) {
        bump(before, -1);
        bump(incident.status, 1);
      }
      placeIncident(list, existing);
      flash(existing);
    } else if (!hasFilters) {
      const node = buildIncident(incident);
      fillIncident(node, incident);
      placeIncident(list, node);
      bump(incident.status, 1);
      flash(node);
    }
    Object.keys(counts).forEach(describeMore);
    live.tick();
    // With filters, only the server knows whether a new incident has a member that matches.
    if (REGROUPED[msg.action] || (hasFilters && !existing)) resync();
  }

  /* --- keyboard focus ---------------------------------------------------------------------
   * A live change rebuilds a card (or an incident's member lines) and a resync replaces whole
   * columns: the element a keyboard user had reached would go with them, the focus falling
   * back to the page's start, and a card moved in its column (an incident's, filled in place)
   * loses it too. Where it was (the card, the member line, the part) is noted before and the
   * same element, or the same part of the new card, takes the focus after. */
  function focusPlace() {
    const active = document.activeElement;
    if (!active || !board.contains(active)) return null;
    const card = active.closest(".card");
    if (!card) return null;
    const member = active.closest("li[data-member]");
    return {
      element: active,
      id: card.dataset.id,
      incident: card.dataset.incident,
      member: member ? member.dataset.member : null,
      field: active.dataset.field || null,
      tag: active.tagName.toLowerCase(),
      className: active.className,
    };
  }

  function refocus(place) {
    if (!place || document.activeElement === place.element) return;
    // Still on the page, moved (an incident card put back in its column): a move blurs it.
    if (place.element.isConnected) {
      place.element.focus({ preventScroll: true });
      return;
    }
    const card = place.incident ? findIncident(place.incident) : findCard(place.id);
    if (!card) return;
    let scope = card;
    if (place.member) {
      scope = Array.from(card.querySelectorAll("li[data-member]")).find(
        (item) => item.dataset.member === place.member
      );
      if (!scope) return;
    }
    const candidates = Array.from(scope.querySelectorAll(place.tag));
    const target = place.field
      ? candidates.find((node) => node.dataset.field === place.field)
      : candidates.find((node) => node.className === place.className) || null;
    if (target) target.focus({ preventScroll: true });
  }

  /* A handler that keeps the focus where it was on the cards it rebuilds. */
  function keepingFocus(handler) {
    return (msg) => {
      const place = focusPlace();
      handler(msg);
      refocus(place);
    };
  }

  /* After a reconnect: fetch this same page and take its columns (parsed inertly, never run). */
  function resync() {
    fetch(window.location.href, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { "X-Live-Read": "1" }, // leaves the page's messages unread (live.js)
    })
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error(String(r.status)))))
      .then((html) => {
        const doc = new DOMParser().parseFromString(html, "text/html");
        const place = focusPlace();
        const expanded = new Set(
          Array.from(board.querySelectorAll(".incident-card details[open]")).map(
            (node) => node.closest(".incident-card").dataset.incident
          )
        );
        doc.querySelectorAll(".column-list").forEach((fresh) => {
          const target = lists[fresh.dataset.column];
          if (!target) return;
          target.replaceChildren(...Array.from(fresh.children).map((n) => document.adoptNode(n)));
        });
        doc.querySelectorAll(".column-incidents").forEach((fresh) => {
          const target = incidentLists[fresh.dataset.incidents];
          if (!target) return;
          target.replaceChildren(...Array.from(fresh.children).map((n) => document.adoptNode(n)));
        });
        // An incident card someone had expanded stays expanded.
        board.querySelectorAll(".incident-card").forEach((node) => {
          const details = node.querySelector("details");
          if (details && expanded.has(node.dataset.incident)) details.open = true;
        });
        doc.querySelectorAll("[data-count]").forEach((fresh) => {
          const target = counts[fresh.dataset.count];
          if (!target) return;
          target.textContent = fresh.textContent;
          target.toggleAttribute("data-capped", fresh.hasAttribute("data-capped"));
        });
        Object.keys(counts).forEach(describeMore);
        refocus(place);
        live.tick();
      })
      .catch(() => {});
  }

  live.connect({
    message: keepingFocus(apply),
    incident: keepingFocus(applyIncident),
    folded: applyFolded,
    resync,
  });
})();

/* The live board: applies ticket.changed events (insert, move between columns, update).
 * Cards are built with createElement + textContent only: no ticket text is ever parsed as HTML. */
(function () {
  "use strict";

  const live = window.RcaLive;
  const config = live.config;
  const filters = config.filters || {};
  const limit = config.limit || 200;
  const board = document.getElementById("board");
  if (!board) return;

  const lists = {};
  const counts = {};
  board.querySelectorAll(".column-list").forEach((node) => {
    lists[node.dataset.column] = node;
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

  function fact(label, className) {
    const wrap = el("span", "fact" + (className ? " " + className : ""));
    wrap.title = label;
    wrap.append(el("span", "fact-label", label), document.createTextNode(" "));
    return wrap;
  }

  function buildCard(card) {
    const article = el("article", "card " + sevClass(card.severity));
    article.dataset.id = card.id;
    article.dataset.status = card.status || "";
    article.dataset.timestamp = card.timestamp || "";
    article.dataset.deadline = card.sla_deadline || "";
    article.dataset.severity = card.severity || "";

    const top = el("div", "card-top");
    const sla = el("span", "sla js-sla");
    sla.dataset.deadline = card.sla_deadline || "";
    sla.dataset.slaStatus = card.sla_status || "";
    sla.dataset.status = card.status || "";
    top.append(
      field(el("span", "badge sev " + sevClass(card.severity), card.severity), "severity"),
      field(el("span", "badge prio", card.priority), "priority"),
      field(el("span", "card-source", card.source), "source"),
      sla
    );

    const title = field(el("a", "card-title", card.pipeline), "pipeline");
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
      const jira = field(el("span", "fact jira", card.jira_key), "jira_key");
      jira.title = "JIRA issue";
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
      // pipeline or JIRA key (the server also searches the error message on reload).
      const q = String(filters.q).toLowerCase();
      return [card.id, card.pipeline, card.jira_key].some(
        (v) => typeof v === "string" && v.toLowerCase().includes(q)
      );
    }
    return true;
  }

  function bump(status, delta) {
    const node = counts[status];
    if (!node) return;
    const value = Math.max(0, (parseInt(node.textContent, 10) || 0) + delta);
    node.textContent = String(value);
  }

  function findCard(id) {
    for (const card of board.querySelectorAll(".card")) {
      if (card.dataset.id === id) return card;
    }
    return null;
  }

  /* Most urgent first, as the server orders a column (TicketQuerySet.by_urgency): a ticket
   * whose SLA clock runs by its deadline (breached ones have the earliest), the others after
   * them, newest first; then severity, then id. */
  const SLA_RUNNING = { open: true, in_progress: true };
  const SEVERITY_RANK = { Critical: 0, High: 1, Medium: 2, Low: 3 };

  function urgency(node) {
    const data = node.dataset;
    const created = Date.parse(data.timestamp) || 0;
    if (SLA_RUNNING[data.status]) return Date.parse(data.deadline) || created;
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

  function apply(msg) {
    const card = msg.ticket;
    const existing = findCard(card.id);
    const list = lists[card.status];
    if (existing) {
      bump(existing.dataset.status, -1);
      existing.remove();
    }
    if (!list || !matches(card, Boolean(existing))) return;
    const node = buildCard(card);
    node.dataset.lastAction = String(msg.action || "");
    insertSorted(list, node);
    bump(card.status, 1);
    while (list.children.length > limit) list.lastElementChild.remove();
    live.tick();
    flash(node);
  }

  /* After a reconnect: fetch this same page and take its columns (parsed inertly, never run). */
  function resync() {
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error(String(r.status)))))
      .then((html) => {
        const doc = new DOMParser().parseFromString(html, "text/html");
        doc.querySelectorAll(".column-list").forEach((fresh) => {
          const target = lists[fresh.dataset.column];
          if (!target) return;
          target.replaceChildren(...Array.from(fresh.children).map((n) => document.adoptNode(n)));
        });
        doc.querySelectorAll("[data-count]").forEach((fresh) => {
          const target = counts[fresh.dataset.count];
          if (target) target.textContent = fresh.textContent;
        });
        live.tick();
      })
      .catch(() => {});
  }

  live.connect({ message: apply, resync });
})();

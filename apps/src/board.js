// The sprint board: the result of `get_sprint_board` as columns of cards. A card moves by drag
// and drop, or by keyboard (focus it, then ← and →); a move calls `update_user_story` through the
// host once, at the version the card holds. A conflict reloads the board and says so.
import { connect, el, points } from "./shared.js";

const OFFERED_KEY = "taiga-mcp/offered";
let board = null;
let movable = false;
let busy = false;

const app = connect("taiga-sprint-board", (result) => {
  if (result.isError || !result.structuredContent) return;
  movable = (result._meta?.[OFFERED_KEY] ?? []).includes("update_user_story");
  document.body.classList.toggle("movable", movable);
  show(result.structuredContent);
});

function say(text, kind = "info") {
  const status = document.getElementById("status");
  status.textContent = text;
  status.dataset.kind = kind;
}

function show(next, focusCard) {
  board = next;
  const root = document.getElementById("board");
  const sprint = board.sprint;
  document.getElementById("title").textContent = sprint
    ? `${sprint.name} · ${sprint.start_date ?? "?"} → ${sprint.end_date ?? "?"}`
    : `Project ${board.project_id}`;
  document.getElementById("totals").textContent =
    `${board.cards} stories · ${points(board.closed_points)} of ${points(board.total_points)} points closed` +
    (movable ? "" : " · read-only");
  root.replaceChildren(...board.columns.map((column, index) => columnOf(column, index)));
  if (focusCard) root.querySelector(`[data-card="${focusCard}"]`)?.focus();
}

function columnOf(column, index) {
  const list = el(
    "section",
    {
      class: "column",
      "data-status": column.status_id,
      "aria-label": column.name,
      ondragover: (event) => movable && !busy && event.preventDefault(),
      ondrop: (event) => {
        event.preventDefault();
        const id = Number(event.dataTransfer.getData("text/plain"));
        move(id, column.status_id);
      },
    },
    el(
      "header",
      { style: `border-top-color: ${column.color ?? "#888"}` },
      el("span", { class: "name" }, column.name),
      el("span", { class: "count" }, `${column.cards.length} · ${points(column.points)} pts`),
    ),
    column.cards.map((card) => cardOf(card, index)),
  );
  return list;
}

function cardOf(card, columnIndex) {
  const tasks = card.tasks.total > 0 ? `${card.tasks.closed}/${card.tasks.total} tasks` : null;
  return el(
    "article",
    {
      class: card.blocked ? "card blocked" : "card",
      tabindex: 0,
      draggable: movable ? "true" : false,
      "data-card": card.id,
      "data-version": card.version,
      title: card.blocked_note ?? undefined,
      "aria-label": `#${card.ref} ${card.subject}`,
      ondragstart: (event) => event.dataTransfer.setData("text/plain", String(card.id)),
      onkeydown: (event) => {
        const step = { ArrowLeft: -1, ArrowRight: 1 }[event.key];
        const target = board.columns[columnIndex + (step ?? 0)];
        if (step && target) {
          event.preventDefault();
          move(card.id, target.status_id);
        }
      },
    },
    el("div", { class: "ref" }, `#${card.ref}`, card.blocked ? el("span", { class: "flag" }, "blocked") : null),
    el("div", { class: "subject" }, card.subject),
    el(
      "div",
      { class: "meta" },
      el("span", { class: "points" }, `${points(card.points)} pts`),
      card.assignee ? el("span", { class: "assignee" }, card.assignee) : el("span", { class: "assignee none" }, "unassigned"),
      tasks ? el("span", { class: "tasks" }, tasks) : null,
    ),
    tasks
      ? el("progress", { max: card.tasks.total, value: card.tasks.closed, "aria-label": tasks })
      : null,
  );
}

function find(id) {
  for (const column of board.columns) {
    const index = column.cards.findIndex((card) => card.id === id);
    if (index >= 0) return { column, index, card: column.cards[index] };
  }
  return null;
}

async function move(id, statusId) {
  const found = find(id);
  if (!movable || busy || !found || found.column.status_id === statusId) return;
  busy = true;
  document.body.classList.add("busy");
  const { card } = found;
  say(`Moving #${card.ref}…`);
  try {
    const result = await app.callServerTool({
      name: "update_user_story",
      arguments: { user_story_id: card.id, version: card.version, status: statusId },
    });
    const body = result.structuredContent ?? {};
    if (result.isError && body.code === "VERSION_CONFLICT") {
      await reload(card.id);
      say(`#${card.ref} was changed by someone else meanwhile; the board now shows it as it is (version ${body.details?.current_version ?? "?"}). Nothing was written.`, "conflict");
    } else if (result.isError) {
      say(`#${card.ref} was not moved: ${body.message ?? "Taiga refused"}`, "error");
    } else {
      found.column.cards.splice(found.index, 1);
      const target = board.columns.find((column) => column.status_id === statusId);
      target.cards.push({ ...card, version: body.version ?? card.version + 1 });
      recount();
      show(board, card.id);
      say(`#${card.ref} moved to ${target.name}.`, "done");
    }
  } catch (error) {
    say(`#${card.ref} was not moved: ${error.message}`, "error");
  } finally {
    busy = false;
    document.body.classList.remove("busy");
  }
}

function recount() {
  board.total_points = 0;
  board.closed_points = 0;
  for (const column of board.columns) {
    column.points = column.cards.reduce((sum, card) => sum + (card.points ?? 0), 0);
    board.total_points += column.points;
    if (column.is_closed) board.closed_points += column.points;
  }
}

async function reload(focusCard) {
  const args = board.sprint ? { sprint_id: board.sprint.id, project_id: board.project_id } : { project_id: board.project_id };
  const result = await app.callServerTool({ name: "get_sprint_board", arguments: args });
  if (!result.isError && result.structuredContent) show(result.structuredContent, focusCard);
}

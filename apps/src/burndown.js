// The burndown: the result of `get_sprint_stats` as an SVG chart, open points per day against the
// optimal line, with the sprint's totals. Colours come from CSS variables, so the host's light or
// dark theme reads at a glance.
import { connect, el, points } from "./shared.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const HEIGHT = 300;
const PAD = { left: 44, right: 16, top: 16, bottom: 36 };

connect("taiga-burndown", (result) => {
  if (!result.isError && result.structuredContent) show(result.structuredContent);
});

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function show(stats) {
  document.getElementById("title").textContent = `${stats.name ?? "Sprint"} · burndown`;
  const totals = [
    ["Points closed", `${points(stats.completed_points)} / ${points(stats.total_points)}`],
    ["Stories closed", `${stats.user_stories?.completed ?? 0} / ${stats.user_stories?.total ?? 0}`],
    ["Tasks closed", `${stats.tasks?.completed ?? 0} / ${stats.tasks?.total ?? 0}`],
    ["Completion", stats.completion_percent === null ? "–" : `${stats.completion_percent}%`],
  ];
  document.getElementById("totals").replaceChildren(
    ...totals.map(([label, value]) => el("div", { class: "total" }, el("span", { class: "value" }, value), el("span", { class: "label" }, label))),
  );
  document.getElementById("chart").replaceChildren(chart(stats.burndown ?? []));
}

function chart(days) {
  const root = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": "Open points per day against the optimal line" });
  if (days.length === 0) {
    root.append(svg("text", { x: WIDTH / 2, y: HEIGHT / 2, "text-anchor": "middle", class: "empty" }, "No days in this sprint yet"));
    return root;
  }
  const top = Math.max(1, ...days.map((day) => Math.max(day.open_points, day.optimal_points)));
  const innerWidth = WIDTH - PAD.left - PAD.right;
  const innerHeight = HEIGHT - PAD.top - PAD.bottom;
  const x = (index) => PAD.left + (days.length === 1 ? innerWidth / 2 : (index * innerWidth) / (days.length - 1));
  const y = (value) => PAD.top + innerHeight - (value / top) * innerHeight;
  for (const fraction of [0, 0.25, 0.5, 0.75, 1]) {
    const value = top * fraction;
    root.append(
      svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value), class: "grid" }),
      svg("text", { x: PAD.left - 6, y: y(value) + 4, "text-anchor": "end", class: "axis" }, points(value)),
    );
  }
  const every = Math.max(1, Math.ceil(days.length / 8));
  days.forEach((day, index) => {
    if (index % every === 0 || index === days.length - 1) {
      root.append(svg("text", { x: x(index), y: HEIGHT - PAD.bottom + 18, "text-anchor": "middle", class: "axis" }, day.day.slice(5)));
    }
  });
  const line = (key) => days.map((day, index) => `${x(index).toFixed(1)},${y(day[key]).toFixed(1)}`).join(" ");
  root.append(svg("polyline", { points: line("optimal_points"), class: "optimal" }));
  root.append(svg("polyline", { points: line("open_points"), class: "open" }));
  days.forEach((day, index) => {
    const dot = svg("circle", { cx: x(index).toFixed(1), cy: y(day.open_points).toFixed(1), r: 3.5, class: "point", "data-day": day.day, "data-open": day.open_points });
    dot.append(svg("title", {}, `${day.day}: ${points(day.open_points)} open (optimal ${points(day.optimal_points)})`));
    root.append(dot);
  });
  return root;
}

// Bundles each MCP App into one self-contained HTML file that the component embeds
// (guest/core/src/apps/<name>.html): its style and script inline, nothing fetched.
//
//   node build.mjs                 writes the apps
//   node build.mjs --check         fails when a committed app differs from what the sources give
//   node build.mjs --host-page DIR writes the browser test's host page (host.html, host.js) to DIR
//
// The script is the app with the official `App` class of @modelcontextprotocol/ext-apps, which
// brings the MCP SDK's protocol and zod: about 235 KB minified, past the 150 KB an app may weigh.
// It is therefore stored gzip-compressed in base64 and inflated by the browser's own
// DecompressionStream into an inline script: one file, no network, 80-odd KB.
import { build } from "rolldown";
import { gzipSync, gunzipSync } from "node:zlib";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "guest", "core", "src", "apps");
const APPS = [
  { name: "sprint-board", script: "src/board.js", shell: "src/board.html", css: ["src/theme.css", "src/board.css"] },
  { name: "burndown", script: "src/burndown.js", shell: "src/burndown.html", css: ["src/theme.css", "src/burndown.css"] },
];
const PAYLOAD = /const p="([A-Za-z0-9+/=]*)"/;

async function bundle(input) {
  const result = await build({
    input: join(here, input),
    write: false,
    platform: "browser",
    logLevel: "warn",
    output: { format: "iife", minify: true },
  });
  return result.output[0].code;
}

/** The loader: inflates the payload and runs it as an inline script (allowed by the host's CSP). */
function loader(payload) {
  return `<script>(async()=>{const p="${payload}";` +
    `const z=Uint8Array.from(atob(p),c=>c.charCodeAt(0));` +
    `const t=await new Response(new Blob([z]).stream().pipeThrough(new DecompressionStream("gzip"))).text();` +
    `const s=document.createElement("script");s.textContent=t;document.body.append(s)})()</script>`;
}

function html(app, code) {
  const css = app.css.map((file) => readFileSync(join(here, file), "utf8")).join("\n");
  const shell = readFileSync(join(here, app.shell), "utf8");
  const payload = gzipSync(Buffer.from(code), { level: 9 }).toString("base64");
  return shell.replace("/*CSS*/", () => css.trim()).replace("<!--SCRIPT-->", () => loader(payload));
}

/** The file with its payload inflated: what `--check` compares, so that zlib versions do not matter. */
function readable(text) {
  return text.replace(PAYLOAD, (_, payload) => `const p=${JSON.stringify(gunzipSync(Buffer.from(payload, "base64")).toString())}`);
}

const args = process.argv.slice(2);
if (args[0] === "--host-page") {
  const dir = args[1];
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "host.js"), await bundle("test-host/host.js"));
  writeFileSync(join(dir, "host.html"), readFileSync(join(here, "test-host/host.html")));
} else {
  let stale = [];
  for (const app of APPS) {
    const file = join(out, `${app.name}.html`);
    const made = html(app, await bundle(app.script));
    if (args[0] === "--check") {
      let committed = "";
      try { committed = readFileSync(file, "utf8"); } catch { /* missing counts as stale */ }
      if (readable(committed) !== readable(made)) stale.push(file);
    } else {
      writeFileSync(file, made);
      console.log(`${app.name}: ${made.length} bytes`);
    }
  }
  if (stale.length) {
    console.error(`apps/build.mjs: out of date, run \`node apps/build.mjs\`: ${stale.join(", ")}`);
    process.exit(1);
  }
}

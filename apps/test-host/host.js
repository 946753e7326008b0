// A small MCP Apps host for the browser test (tests/e2e/test_apps.py): the official MCP client
// talks to taiga-mcp (through the test's same-origin proxy at /mcp), and the official AppBridge
// runs each app in a sandboxed iframe under the app's declared (empty) CSP, as hosts do.
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";

const UI_EXTENSION = "io.modelcontextprotocol/ui";
const MIME_TYPE = "text/html;profile=mcp-app";

/** The CSP a host derives from `_meta.ui.csp`: with no domains declared, nothing from the network. */
function policy(csp) {
  const domains = (key) => (csp?.[key] ?? []).join(" ");
  return [
    "default-src 'none'",
    `script-src 'unsafe-inline' ${domains("resourceDomains")}`,
    `style-src 'unsafe-inline' ${domains("resourceDomains")}`,
    "img-src data:",
    `connect-src ${domains("connectDomains") || "'none'"}`,
  ].join("; ");
}

const state = { client: null, bridge: null, toolCalls: [], errors: [] };
window.testHost = state;

/** Opens the app linked from `toolName`, runs the tool with `args` and hands the app its result. */
window.openApp = async (toolName, args, theme = "light") => {
  const client = new Client({ name: "taiga-apps-test-host", version: "1.0.0" }, {
    capabilities: { extensions: { [UI_EXTENSION]: { mimeTypes: [MIME_TYPE] } } },
  });
  await client.connect(new StreamableHTTPClientTransport(new URL("/mcp", location.href)));
  const { tools } = await client.listTools();
  const tool = tools.find((entry) => entry.name === toolName);
  const uri = tool?._meta?.ui?.resourceUri;
  if (!uri) throw new Error(`${toolName} links no app`);
  const read = await client.readResource({ uri });
  const content = read.contents[0];
  if (content.mimeType !== MIME_TYPE) throw new Error(`unexpected MIME type ${content.mimeType}`);
  const csp = `<meta http-equiv="Content-Security-Policy" content="${policy(content._meta?.ui?.csp)}">`;
  const iframe = document.createElement("iframe");
  iframe.id = "app";
  iframe.setAttribute("sandbox", "allow-scripts");
  iframe.srcdoc = content.text.replace("<head>", `<head>${csp}`);
  document.getElementById("frame").replaceChildren(iframe);
  const bridge = new AppBridge(client, { name: "taiga-apps-test-host", version: "1.0.0" },
    { serverTools: {}, openLinks: {}, logging: {} }, { hostContext: { theme, displayMode: "inline" } });
  bridge.onsizechange = ({ height }) => { if (height) iframe.style.height = `${height}px`; };
  const calls = client.callTool.bind(client);
  client.callTool = (params, ...rest) => {
    state.toolCalls.push(params);
    return calls(params, ...rest);
  };
  const initialized = new Promise((resolve) => { bridge.oninitialized = resolve; });
  await bridge.connect(new PostMessageTransport(iframe.contentWindow, iframe.contentWindow));
  await initialized;
  const result = await calls({ name: toolName, arguments: args });
  await bridge.sendToolInput({ arguments: args });
  await bridge.sendToolResult(result);
  Object.assign(state, { client, bridge, result, bytes: content.text.length });
  return { uri, bytes: content.text.length, structured: result.structuredContent, meta: result._meta ?? null };
};

/** Switches the host's theme; the app follows it. */
window.setTheme = (theme) => state.bridge.setHostContext({ theme, displayMode: "inline" });

window.addEventListener("error", (event) => state.errors.push(String(event.message)));

// What both apps share: the connection to the host through the official `App` class, and the
// host's theme (light or dark, from its context) on the document.
import { App, applyDocumentTheme, applyHostStyleVariables } from "@modelcontextprotocol/ext-apps";

/** Connects an app named `name`; `onResult` receives each tool result the host hands over. */
export function connect(name, onResult) {
  const app = new App({ name, version: "1.0.0" }, {}, { autoResize: true });
  const applyContext = (context) => {
    if (context?.theme) applyDocumentTheme(context.theme);
    if (context?.styles?.variables) applyHostStyleVariables(context.styles.variables);
  };
  app.onhostcontextchanged = applyContext;
  app.ontoolresult = (result) => onResult(result);
  app.connect().then(() => applyContext(app.getHostContext()));
  return app;
}

/** An element with attributes and children; text is always set as text, never as markup. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Points as a person reads them: 2.5, 3, or a dash for none. */
export function points(value) {
  return value === null || value === undefined ? "–" : String(Math.round(value * 100) / 100);
}

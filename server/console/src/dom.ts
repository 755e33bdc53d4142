// A tiny element builder. Text always goes in as text nodes: field names, record IDs and values come from users and
// may hold anything, so nothing is ever parsed as HTML.

export type Child = Node | string | number | null | undefined | false;
type AttrValue = string | number | boolean | null | undefined | ((event: Event) => void);
export type Attrs = Record<string, AttrValue>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(name.replace(/^on/, ""), value);
    // Through the CSSOM: the server's Content-Security-Policy refuses style attributes set as markup.
    else if (name === "style") el.style.cssText = String(value);
    else el.setAttribute(name === "className" ? "class" : name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
  }
}

export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** A table from a header row and body rows; a row given as an element is used as is. */
export function table(headers: string[], rows: (Child[] | HTMLTableRowElement)[], attrs: Attrs = {}): HTMLTableElement {
  return h(
    "table",
    attrs,
    h("thead", {}, h("tr", {}, ...headers.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, ...rows.map((r) => (r instanceof HTMLTableRowElement ? r : h("tr", {}, ...r.map((c) => h("td", {}, c)))))),
  );
}

export function section(title: string, ...children: Child[]): HTMLElement {
  return h("section", { className: "card" }, h("h2", {}, title), ...children);
}

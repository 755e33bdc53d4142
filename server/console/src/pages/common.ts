// Pieces every page uses.
import { describeError, errorCode } from "../api.js";
import { h } from "../dom.js";

/** A failed call, with its code as data-code: PermissionDenied reads differently from NotFound. */
export function errorBox(err: unknown): HTMLElement {
  return h("p", { className: "error", role: "alert", "data-code": errorCode(err) }, describeError(err));
}

export function breadcrumbs(...links: (readonly [string, string] | string)[]): HTMLElement {
  const parts: (Node | string)[] = [];
  links.forEach((l, i) => {
    if (i > 0) parts.push(" / ");
    parts.push(typeof l === "string" ? h("span", {}, l) : h("a", { href: l[1] }, l[0]));
  });
  return h("nav", { className: "crumbs" }, ...parts);
}

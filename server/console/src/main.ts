// The console's shell: the sign-in gate, the navigation, and one page at a time. Leaving a page aborts its calls,
// server streams (WatchJob) included.
import "./style.css";
import { createApi, type Api } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { renderCollection } from "./pages/collection.js";
import { renderJobs } from "./pages/jobs.js";
import { renderLogin } from "./pages/login.js";
import { renderModel } from "./pages/model.js";
import { renderProjects } from "./pages/projects.js";
import { renderRecord } from "./pages/record.js";
import { href, parseRoute, type Route } from "./router.js";
import { apiKey, clearSession } from "./session.js";

export interface PageContext {
  api: Api;
  root: HTMLElement;
  signal: AbortSignal;
}

const app = document.getElementById("app")!;
const nav = document.getElementById("nav")!;
let current: AbortController | undefined;

function signOut(): void {
  clearSession();
  if (parseRoute(location.hash).page !== "login") location.hash = href({ page: "login" });
}

function renderNav(signedIn: boolean): void {
  if (!signedIn) return replaceChildren(nav);
  // A project key starts with its public ID (`slk_….secret`); nothing of any other key, the admin key included, is shown.
  const id = /^([A-Za-z0-9]+_[A-Za-z0-9_-]+)\./.exec(apiKey() ?? "")?.[1];
  replaceChildren(
    nav,
    h("a", { href: href({ page: "projects" }) }, "Projects"),
    h("a", { href: href({ page: "jobs", watch: "" }) }, "Jobs"),
    h("span", { className: "key", title: "the API key of this tab" }, id === undefined ? "signed in" : `key ${id}`),
    h("button", { type: "button", className: "link", "data-action": "sign-out", onclick: signOut }, "Sign out"),
  );
}

async function render(route: Route, ctx: PageContext): Promise<void> {
  switch (route.page) {
    case "login":
      return renderLogin(ctx.root);
    case "projects":
      return renderProjects(ctx);
    case "collection":
      return renderCollection(ctx, route);
    case "model":
      return renderModel(ctx, route);
    case "record":
      return renderRecord(ctx, route);
    case "jobs":
      return renderJobs(ctx, route);
  }
}

function show(): void {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const key = apiKey();
  let route = parseRoute(location.hash);
  if (key === undefined && route.page !== "login") {
    location.hash = href({ page: "login" });
    return;
  }
  if (key !== undefined && route.page === "login") route = { page: "projects" };
  renderNav(key !== undefined);
  const root = h("div", { className: "page", "data-page": route.page });
  app.replaceChildren(root);
  const ctx: PageContext = { api: createApi(key ?? "", signOut), root, signal: controller.signal };
  render(route, ctx).then(
    () => root.setAttribute("data-ready", "true"),
    (err: unknown) => {
      if (controller.signal.aborted) return;
      root.append(h("p", { className: "error" }, `Unexpected error: ${err instanceof Error ? err.message : String(err)}`));
      root.setAttribute("data-ready", "true");
    },
  );
}

window.addEventListener("hashchange", show);
show();

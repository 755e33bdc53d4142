// Sign-in: the key is checked with a call any key may make (ListProjects lists a project key's own project), and
// kept for this tab only.
import { createApi } from "../api.js";
import { h, replaceChildren } from "../dom.js";
import { href } from "../router.js";
import { setApiKey } from "../session.js";
import { errorBox } from "./common.js";

export async function renderLogin(root: HTMLElement): Promise<void> {
  const input = h("input", { type: "password", name: "apiKey", autocomplete: "off", required: true, placeholder: "API key", "aria-label": "API key" });
  const status = h("div", { className: "status" });
  const form = h(
    "form",
    { className: "card login" },
    h("h1", {}, "Sign in"),
    h("p", {}, "Paste a project API key (or the admin key). It is kept in this tab only and sent as ", h("code", {}, "authorization: Bearer"), "."),
    input,
    h("button", { type: "submit" }, "Sign in"),
    status,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (key === "") return;
    replaceChildren(status, "Checking…");
    createApi(key, () => undefined)
      .admin.listProjects({ pageSize: 1 })
      .then(
        () => {
          setApiKey(key);
          location.hash = href({ page: "projects" });
        },
        (err: unknown) => replaceChildren(status, errorBox(err)),
      );
  });
  root.append(form);
  input.focus();
}

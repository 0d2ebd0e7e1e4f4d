// A headless clinic site over the API: #/ lists the articles, #/articles/<slug> shows one with
// its disclaimers, its JSON-LD and the consultation form.
import "./style.css";
import { loadArticle, renderArticle, renderList } from "./articles";
import { h } from "./dom";
import { renderForm } from "./form";

const app = document.getElementById("app") as HTMLElement;

async function route(): Promise<void> {
  const match = /^#\/articles\/([^/]+)$/.exec(window.location.hash);
  if (!match?.[1]) {
    await renderList(app);
    return;
  }
  app.replaceChildren(h("p", {}, "Loading…"));
  const article = await loadArticle(decodeURIComponent(match[1]));
  if (typeof article === "string") {
    app.replaceChildren(h("p", { class: "error" }, article), h("a", { href: "#/" }, "All articles"));
    return;
  }
  app.replaceChildren(renderArticle(article), await renderForm(article));
  window.scrollTo(0, 0);
}

window.addEventListener("hashchange", () => void route());
void route();

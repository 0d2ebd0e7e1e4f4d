// The consultation form: the current consent text, an Idempotency-Key per distinct body, and
// each field's error from a 422 problem shown next to that field.
import { api, describeProblem, type Schemas } from "./api";
import { h } from "./dom";
import type { Article } from "./articles";

type Body = Schemas["ConsultationRequestCreate"];
type ContactMethod = Schemas["ContactMethod"];

const CONTACT_METHODS: ContactMethod[] = ["phone", "email", "sms"];

function field(name: string, label: string, control: HTMLElement): HTMLElement {
  const errorId = `error-${name.replace(/\./g, "-")}`;
  control.setAttribute("aria-describedby", errorId);
  return h(
    "div",
    { class: "field", "data-field": name },
    control instanceof HTMLInputElement && control.type === "checkbox"
      ? h("label", { class: "check" }, control, label)
      : h("label", {}, label, control),
    h("p", { class: "field-error", id: errorId, "data-error-for": name }),
  );
}

function input(name: string, type = "text", autocomplete?: string): HTMLInputElement {
  return h("input", { name, id: `input-${name}`, type, autocomplete });
}

/** A new key for each distinct body: a retry of the same body replays, a changed one is new. */
class IdempotencyKeys {
  private body = "";
  private key = "";
  for(body: Body): string {
    const json = JSON.stringify(body);
    if (json !== this.body) {
      this.body = json;
      this.key = crypto.randomUUID();
    }
    return this.key;
  }
}

export async function renderForm(article: Article): Promise<HTMLElement> {
  const consentAnswer = await api.GET("/v1/consent-texts/current");
  const consent = consentAnswer.data;
  if (!consent) {
    return h("p", { class: "error" }, describeProblem(consentAnswer.error, "The form is unavailable."));
  }
  const method = h(
    "select",
    { name: "preferred_contact_method", id: "input-preferred_contact_method" },
    ...CONTACT_METHODS.map((m) => h("option", { value: m }, m)),
  );
  const message = h("textarea", { name: "message", id: "input-message", rows: "4", maxlength: "2000" });
  const contact = h("input", { type: "checkbox", name: "consent.contact", id: "input-consent-contact" });
  const sms = h("input", { type: "checkbox", name: "consent.sms", id: "input-consent-sms" });
  const adult = h("input", { type: "checkbox", name: "consent.age_confirmed", id: "input-consent-age_confirmed" });
  const website = h("input", { name: "website", tabindex: "-1", autocomplete: "off" });
  const status = h("p", { id: "form-status", role: "status" });
  const general = h("ul", { id: "form-errors", class: "form-errors" });
  const form = h(
    "form",
    { id: "consultation-form", novalidate: true },
    h("h2", {}, article.call_to_action?.heading ?? "Request a consultation"),
    article.call_to_action ? h("p", {}, article.call_to_action.text) : null,
    field("first_name", "First name", input("first_name", "text", "given-name")),
    field("last_name", "Last name", input("last_name", "text", "family-name")),
    field("email", "Email", input("email", "email", "email")),
    field("phone", "Phone", input("phone", "tel", "tel")),
    field("preferred_contact_method", "Preferred contact", method),
    field("message", "Message (optional)", message),
    field("consent.age_confirmed", consent.age_text ?? "I am 18 or older.", adult),
    field("consent.contact", consent.text, contact),
    field("consent.sms", consent.sms_text, sms),
    consent.privacy_notice_url
      ? h("p", { class: "privacy" }, h("a", { href: consent.privacy_notice_url, id: "privacy-notice" }, "Privacy notice"))
      : null,
    h("div", { class: "trap", "aria-hidden": "true" }, h("label", {}, "Leave empty", website)),
    general,
    // Above the button, as the clinic's lawyer asked: the form is not for emergencies.
    consent.emergency_notice ? h("p", { class: "emergency", id: "emergency-notice", role: "note" }, consent.emergency_notice) : null,
    h("button", { type: "submit" }, article.call_to_action?.button_label ?? "Send"),
    status,
  );
  const keys = new IdempotencyKeys();
  const value = (name: string): string =>
    (form.elements.namedItem(name) as HTMLInputElement | null)?.value.trim() ?? "";

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors(form, general);
    status.textContent = "";
    const refused: Schemas["FieldError"][] = [];
    if (!adult.checked) {
      refused.push({ field: "body.consent.age_confirmed", message: "Our treatments are for adults (18 or older).", type: "client" });
    }
    if (!contact.checked) {
      refused.push({ field: "body.consent.contact", message: "Please agree so that we may contact you.", type: "client" });
    }
    if (refused.length) {
      showErrors(form, general, refused);
      return;
    }
    const body: Body = {
      first_name: value("first_name"),
      last_name: value("last_name"),
      email: value("email"),
      phone: value("phone"),
      preferred_contact_method: method.value as ContactMethod,
      message: message.value.trim() || null,
      therapies: article.therapies.map((t) => t.slug),
      conditions: article.conditions.map((c) => c.slug),
      consent: { contact: true, age_confirmed: true, sms: sms.checked, consent_version: consent.version, locale: consent.locale },
      source: {
        article_slug: article.slug,
        locale: article.locale,
        page_url: window.location.href,
        referrer: document.referrer,
        channel: "web",
        disclaimers_shown: [...article.disclaimers.top, ...article.disclaimers.bottom].map((d) => ({
          key: d.key,
          version: d.version,
        })),
      },
      website: website.value,
    };
    void submit(form, general, status, body, keys.for(body));
  });
  return form;
}

async function submit(
  form: HTMLFormElement,
  general: HTMLElement,
  status: HTMLElement,
  body: Body,
  key: string,
): Promise<void> {
  const button = form.querySelector("button");
  if (button) button.disabled = true;
  status.textContent = "Sending…";
  try {
    const { data, error, response } = await api.POST("/v1/consultation-requests", {
      params: { header: { "Idempotency-Key": key } },
      body,
    });
    if (data) {
      // A resend of the same body (same key) is answered with the first answer, stored once.
      const replayed = response.headers.get("Idempotent-Replayed") === "true";
      status.textContent = replayed
        ? "Thank you: we already have this request. We will contact you soon."
        : "Thank you: your request was received. We will contact you soon.";
      status.dataset.receipt = data.id;
      form.classList.add("sent");
      return;
    }
    status.textContent = "";
    if (error.errors?.length) showErrors(form, general, error.errors);
    else showErrors(form, general, [{ field: "", message: describeProblem(error, "Not sent."), type: error.code }]);
  } catch {
    status.textContent = "";
    showErrors(form, general, [{ field: "", message: "The clinic could not be reached; try again.", type: "network" }]);
  } finally {
    if (button) button.disabled = false;
  }
}

function clearErrors(form: HTMLFormElement, general: HTMLElement): void {
  for (const p of form.querySelectorAll<HTMLElement>(".field-error")) p.textContent = "";
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  general.replaceChildren();
}

/** Each error beside its field (`body.consent.consent_version` → the nearest shown field). */
function showErrors(form: HTMLFormElement, general: HTMLElement, errors: Schemas["FieldError"][]): void {
  for (const error of errors) {
    const path = error.field.replace(/^body\.?/, "").split(".");
    let target: HTMLElement | null = null;
    while (path.length && !target) {
      target = form.querySelector<HTMLElement>(`[data-error-for="${CSS.escape(path.join("."))}"]`);
      path.pop();
    }
    if (target) {
      target.textContent = target.textContent ? `${target.textContent} ${error.message}` : error.message;
      target.closest(".field")?.querySelector("input, select, textarea")?.setAttribute("aria-invalid", "true");
    } else {
      general.append(h("li", {}, error.field ? `${error.field}: ${error.message}` : error.message));
    }
  }
}

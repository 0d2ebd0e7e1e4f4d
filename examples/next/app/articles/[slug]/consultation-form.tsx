"use client";
// The consultation form: the consent wording from the API, one Idempotency-Key per rendered
// form, and each 422 error beside its input. It posts to a server action (actions.ts), so
// nothing here knows the API's address and no key or secret reaches the browser.
import { useActionState, useEffect, useState, type ReactElement, type ReactNode } from "react";
import type { ConsentText } from "@/lib/api";
import { CONTACT_METHODS, INITIAL_STATE, type FormState } from "./lead";

type Props = {
  action: (previous: FormState, form: FormData) => Promise<FormState>;
  consent: ConsentText;
  heading: string;
  intro: string | null;
  buttonLabel: string;
};

/** A v4 UUID; crypto.randomUUID exists only in secure contexts, getRandomValues everywhere. */
function newKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function ConsultationForm({ action, consent, heading, intro, buttonLabel }: Props) {
  const [state, formAction, pending] = useActionState(action, INITIAL_STATE);
  // Made in the browser when the form is rendered there: the page is static HTML shared by
  // every visitor, so a key written into it by the server would be everyone's key.
  const [browserKey, setBrowserKey] = useState("");
  useEffect(() => setBrowserKey(newKey()), []);
  const idempotencyKey = state.idempotencyKey || browserKey;

  const field = (name: string, label: ReactNode, control: ReactElement, checkbox = false) => (
    <div className="field" data-field={name}>
      {checkbox ? (
        <label>
          {control} {label}
        </label>
      ) : (
        <label>
          {label}
          {control}
        </label>
      )}
      <p className="field-error" id={`error-${name}`} data-error-for={name}>
        {state.fieldErrors[name] ?? ""}
      </p>
    </div>
  );
  const a11y = (name: string) => ({
    id: `input-${name}`,
    name,
    "aria-describedby": `error-${name}`,
    "aria-invalid": state.fieldErrors[name] ? true : undefined,
  });
  const input = (name: string, type: string, autoComplete?: string) => (
    <input {...a11y(name)} type={type} autoComplete={autoComplete} defaultValue={state.values[name] ?? ""} />
  );
  const checkbox = (name: string) => (
    <input {...a11y(name)} type="checkbox" defaultChecked={state.values[name] === "on"} />
  );

  return (
    // noValidate: the API is the one validator; its 422 names every field to fix at once.
    <form id="consultation-form" className="consultation" action={formAction} noValidate>
      <h2>{heading}</h2>
      {intro ? <p>{intro}</p> : null}
      <input type="hidden" name="idempotency_key" value={idempotencyKey} />
      {field("first_name", "First name", input("first_name", "text", "given-name"))}
      {field("last_name", "Last name", input("last_name", "text", "family-name"))}
      {field("email", "Email", input("email", "email", "email"))}
      {field("phone", "Phone", input("phone", "tel", "tel"))}
      {field(
        "preferred_contact_method",
        "Preferred contact",
        <select {...a11y("preferred_contact_method")} defaultValue={state.values.preferred_contact_method || "phone"}>
          {CONTACT_METHODS.map((method) => (
            <option key={method} value={method}>
              {method}
            </option>
          ))}
        </select>,
      )}
      {field(
        "message",
        "Message (optional)",
        <textarea {...a11y("message")} rows={4} maxLength={2000} defaultValue={state.values.message ?? ""} />,
      )}
      {field("consent.age_confirmed", consent.age_text ?? "I am 18 or older.", checkbox("consent.age_confirmed"), true)}
      {field("consent.contact", consent.text, checkbox("consent.contact"), true)}
      {field("consent.sms", consent.sms_text, checkbox("consent.sms"), true)}
      {consent.privacy_notice_url ? (
        <p>
          <a id="privacy-notice" href={consent.privacy_notice_url}>
            Privacy notice
          </a>
        </p>
      ) : null}
      <div className="trap" aria-hidden="true">
        <label>
          Leave this empty <input name="website" tabIndex={-1} autoComplete="off" />
        </label>
      </div>
      <ul id="form-errors">
        {state.formErrors.map((message) => (
          <li key={message}>{message}</li>
        ))}
      </ul>
      {/* Above the button: the form is not for emergencies. */}
      {consent.emergency_notice ? (
        <p id="emergency-notice" className="emergency" role="note">
          {consent.emergency_notice}
        </p>
      ) : null}
      <button type="submit" disabled={pending}>
        {buttonLabel}
      </button>
      <p id="form-status" className="status" role="status" data-receipt={state.receipt}>
        {pending
          ? "Sending…"
          : state.status === "sent"
            ? state.replayed
              ? "Thank you: we already have this request. We will contact you soon."
              : "Thank you: your request was received. We will contact you soon."
            : ""}
      </p>
    </form>
  );
}

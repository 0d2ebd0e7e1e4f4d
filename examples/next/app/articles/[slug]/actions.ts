"use server";
// The consultation form's server action: the browser never talks to the API, this server does,
// on the visitor's behalf, with the form's Idempotency-Key and the visitor's address.
import { randomUUID } from "node:crypto";
import { headers } from "next/headers";
import { API_URL, type Problem } from "@/lib/api";
import { CHECKBOXES, TEXT_FIELDS, type FormState, type LeadContext } from "./lead";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INPUTS: readonly string[] = [...TEXT_FIELDS, ...CHECKBOXES];
// Plainer words than the API's ("must be the JSON value true") for the two boxes a visitor
// must tick; every other message is the API's own.
const MESSAGES: Record<string, string> = {
  "consent.age_confirmed": "Please confirm that you are 18 or older: the clinic treats adults only.",
  "consent.contact": "Please agree, so that the clinic may contact you about your request.",
};

/** The input a 422 error belongs beside: `body.consent.age_confirmed` → `consent.age_confirmed`. */
function inputFor(field: string): string | null {
  const path = field.replace(/^body\.?/, "").split(".");
  for (; path.length; path.pop()) {
    if (INPUTS.includes(path.join("."))) return path.join(".");
  }
  return null;
}

export async function submitConsultation(context: LeadContext, _previous: FormState, form: FormData): Promise<FormState> {
  const text = (name: string): string => {
    const value = form.get(name);
    return typeof value === "string" ? value.trim() : "";
  };
  const checked = (name: string): boolean => form.get(name) === "on";
  // One key per rendered form, made in the browser (consultation-form.tsx); without JavaScript
  // the first submit has none, so one is made here and handed back in the state.
  const submittedKey = text("idempotency_key");
  const idempotencyKey = UUID.test(submittedKey) ? submittedKey : randomUUID();
  const values: Record<string, string> = {};
  for (const name of TEXT_FIELDS) values[name] = text(name);
  for (const name of CHECKBOXES) values[name] = checked(name) ? "on" : "";

  // The API validates everything (and says what is wrong, field by field): send what was typed.
  const body = {
    first_name: values.first_name,
    last_name: values.last_name,
    email: values.email,
    ...(values.phone ? { phone: values.phone } : {}),
    preferred_contact_method: values.preferred_contact_method || "phone",
    message: values.message || null,
    therapies: context.therapies,
    conditions: context.conditions,
    consent: {
      contact: checked("consent.contact"), // the API wants the JSON `true`: false is a 422
      age_confirmed: checked("consent.age_confirmed"),
      sms: checked("consent.sms"),
      consent_version: context.consentVersion,
      locale: context.consentLocale,
    },
    source: {
      article_slug: context.slug,
      locale: context.locale,
      channel: "web",
      disclaimers_shown: context.disclaimersShown,
    },
    website: text("website"), // the honeypot: a bot fills it, the API stores that lead as spam
  };

  // The visitor's address, so the API rate-limits (and records) the visitor, not this server.
  // Next sets X-Forwarded-For to the peer's address when the request came without one; behind
  // a proxy it is that proxy's chain. The API believes it only from CLINIC_TRUSTED_PROXIES.
  const incoming = await headers();
  const forward: Record<string, string> = { "Content-Type": "application/json", "Idempotency-Key": idempotencyKey };
  const forwardedFor = incoming.get("x-forwarded-for");
  if (forwardedFor) forward["X-Forwarded-For"] = forwardedFor;
  const userAgent = incoming.get("user-agent"); // the lead records the visitor's browser
  if (userAgent) forward["User-Agent"] = userAgent;

  const refused = (formErrors: string[], fieldErrors: Record<string, string> = {}): FormState => ({
    status: "refused",
    idempotencyKey,
    fieldErrors,
    formErrors,
    values,
  });
  let response: Response;
  try {
    response = await fetch(`${API_URL}/v1/consultation-requests`, {
      method: "POST",
      headers: forward,
      body: JSON.stringify(body),
      cache: "no-store",
    });
  } catch {
    return refused(["The clinic could not be reached; please try again."]);
  }
  if (response.status === 201) {
    // The same key and body again (a double click, a retry) replays this answer: stored once.
    const receipt = (await response.json()) as { id: string };
    return {
      status: "sent",
      idempotencyKey,
      receipt: receipt.id,
      replayed: response.headers.get("idempotent-replayed") === "true",
      fieldErrors: {},
      formErrors: [],
      values,
    };
  }
  const problem = (await response.json().catch(() => null)) as Problem | null;
  if (response.status === 429) {
    return refused([`Too many requests; please try again in ${response.headers.get("retry-after") ?? "a few"} seconds.`]);
  }
  if (problem?.code === "idempotency_key_reused") {
    // One key per form: this form was already sent, with other details. A new page, a new key.
    return refused(["This form was already sent with other details. Reload the page to send a new request."]);
  }
  if (!problem?.errors?.length) return refused([problem?.detail ?? `Not sent (${response.status}).`]);
  const fieldErrors: Record<string, string> = {};
  const formErrors: string[] = [];
  for (const error of problem.errors) {
    const input = inputFor(error.field);
    const message = (input && MESSAGES[input]) ?? error.message;
    if (input) fieldErrors[input] = fieldErrors[input] ? `${fieldErrors[input]} ${message}` : message;
    else formErrors.push(`${error.field}: ${error.message}`);
  }
  return refused(formErrors, fieldErrors);
}

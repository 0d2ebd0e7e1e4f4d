// What the consultation form and its server action share (no directive: types and constants).

/** What the page knows about the article and the consent text it showed, bound to the action. */
export interface LeadContext {
  slug: string;
  locale: string;
  therapies: string[];
  conditions: string[];
  disclaimersShown: { key: string; version: number }[];
  consentVersion: string;
  consentLocale: string;
}

export interface FormState {
  status: "idle" | "sent" | "refused";
  /** The key the action used: kept so that every later submit of this form sends it again. */
  idempotencyKey: string;
  receipt?: string;
  replayed?: boolean;
  /** A 422's messages by input name (`email`, `consent.age_confirmed`). */
  fieldErrors: Record<string, string>;
  /** Messages with no input to stand beside (a 429, the API unreachable, a field not shown). */
  formErrors: string[];
  /** What was sent, to refill the inputs (React resets a form after its action). */
  values: Record<string, string>;
}

export const INITIAL_STATE: FormState = { status: "idle", idempotencyKey: "", fieldErrors: {}, formErrors: [], values: {} };

export const TEXT_FIELDS = ["first_name", "last_name", "email", "phone", "preferred_contact_method", "message"] as const;
export const CHECKBOXES = ["consent.age_confirmed", "consent.contact", "consent.sms"] as const;
export const CONTACT_METHODS = ["phone", "email", "sms"] as const;

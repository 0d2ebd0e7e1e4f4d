// Correct typed calls through the generated TypeScript client; make clients runs tsc --strict
// over this file, so a spec change that breaks such a call fails there.
import { createClinicClient, type Schemas } from "../typescript/src/index";

const api = createClinicClient("http://127.0.0.1:8000");

export async function articleTitles(therapy: string): Promise<string[]> {
  const { data, error } = await api.GET("/v1/articles", {
    params: { query: { therapy: [therapy], page: 1, page_size: 20, fields: "title" } },
  });
  if (error) throw new Error(`${error.status} ${error.code}: ${error.detail ?? error.title}`);
  // With `fields`, only the fields named (and id, slug, disclaimers) are present.
  return data.data.map((article: Schemas["ArticleSummary"]) => article.title ?? article.slug);
}

/** The body a web form sends: every field it shows, the consent version it displayed. */
export function formBody(consentVersion: string): Schemas["ConsultationRequestCreate"] {
  return {
    first_name: "Ana",
    last_name: "Diaz",
    email: "ana@example.com",
    phone: "+1 415 555 0100",
    preferred_contact_method: "phone",
    therapies: ["iv-ketamine"],
    conditions: ["ptsd"],
    message: "I would like to know if this could help me.",
    consent: { contact: true, age_confirmed: true, sms: false, consent_version: consentVersion },
    source: {
      article_slug: "iv-ketamine-for-ptsd",
      channel: "web",
      disclaimers_shown: [{ key: "fda-off-label", version: 1 }],
    },
    website: "",
  };
}

export async function requestConsultation(): Promise<string> {
  const consent = await api.GET("/v1/consent-texts/current");
  if (!consent.data) throw new Error("no current consent text");
  const { data, error } = await api.POST("/v1/consultation-requests", {
    params: { header: { "Idempotency-Key": crypto.randomUUID() } },
    body: formBody(consent.data.version),
  });
  if (error) {
    const fields = (error.errors ?? []).map((e: Schemas["FieldError"]) => `${e.field}: ${e.message}`);
    throw new Error(`${error.status} ${error.code} ${fields.join("; ")}`);
  }
  return data.id;
}

// Only the fields the API requires: the defaulted ones (preferred_contact_method, consent.sms,
// source.channel) left out, as the API allows. openapi-typescript's default options would make
// a property with a `default` required, so the spec states request defaults in descriptions
// only (api/openapi.py); make clients fails if this stops type-checking.
import type { Schemas } from "../typescript/src/index";

export const minimal: Schemas["ConsultationRequestCreate"] = {
  first_name: "Ana",
  last_name: "Diaz",
  email: "ana@example.com",
  phone: "+1 415 555 0100",
  consent: { contact: true, age_confirmed: true, consent_version: "2026-12-07" },
  source: { article_slug: "iv-ketamine-for-ptsd" },
};

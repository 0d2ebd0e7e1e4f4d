// Responsive images from a hero image's renditions: one `srcset` per format, for a <picture>
// with a <source type> per format and the JPEG as the <img> every browser shows.
import type { components } from "./schema.js";

export type HeroImage = components["schemas"]["HeroImage"];
export type Rendition = components["schemas"]["ImageRendition"];

/** `url 480w, url 960w, …` of the renditions in `mimeType`, narrowest first. */
export function srcSet(renditions: readonly Rendition[], mimeType: string): string {
  return renditions
    .filter((r) => r.mime_type === mimeType)
    .sort((a, b) => a.width - b.width)
    .map((r) => `${r.url} ${r.width}w`)
    .join(", ");
}

/** Each format's `srcset` (AVIF and WebP before JPEG: a browser takes the first it knows), and
 * the JPEG `src`, width and height that reserve the image's space. */
export function pictureSources(image: HeroImage): {
  sources: { type: string; srcSet: string }[];
  img: { src: string; srcSet: string; width: number; height: number; alt: string };
} {
  const order = ["image/avif", "image/webp"];
  const types = order.filter((t) => image.renditions.some((r) => r.mime_type === t));
  return {
    sources: types.map((type) => ({ type, srcSet: srcSet(image.renditions, type) })),
    img: {
      src: image.src,
      srcSet: srcSet(image.renditions, "image/jpeg"),
      width: image.width,
      height: image.height,
      alt: image.alt,
    },
  };
}

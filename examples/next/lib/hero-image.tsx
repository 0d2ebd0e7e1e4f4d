// The article's hero image through next/image's getImageProps, over the renditions the API
// already made (AVIF, WebP, JPEG at 480/960/1600 px): a custom loader picks the rendition for
// each srcset width, so Next's image optimizer (and its network access) is never involved.
import { getImageProps, type ImageLoader } from "next/image";
import type { HeroImage as HeroImageData, Rendition } from "./api";

/** The narrowest rendition at least `width` wide, else the widest there is. */
function renditionLoader(renditions: Rendition[]): ImageLoader {
  const byWidth = [...renditions].sort((a, b) => a.width - b.width);
  return ({ width }) => (byWidth.find((r) => r.width >= width) ?? byWidth[byWidth.length - 1])?.url ?? "";
}

export function HeroImage({ image }: { image: HeroImageData }) {
  const common = {
    alt: image.alt,
    src: image.src,
    width: image.width,
    height: image.height,
    // Widths from next.config.ts's deviceSizes (the API's own): 480w, 960w, 1600w.
    sizes: "(min-width: 52rem) 48rem, 100vw",
    loading: "eager" as const, // above the fold
    fetchPriority: "high" as const,
  };
  // The API lists renditions best format first; a <source> per format, JPEG as the <img>.
  const types = [...new Set(image.renditions.map((r) => r.mime_type))];
  const ofType = (type: string) => image.renditions.filter((r) => r.mime_type === type);
  const sources = types
    .filter((type) => type !== "image/jpeg")
    .map((type) => ({ type, srcSet: getImageProps({ ...common, loader: renditionLoader(ofType(type)) }).props.srcSet }));
  const jpegs = ofType("image/jpeg");
  const { props: img } = getImageProps({
    ...common,
    loader: renditionLoader(jpegs.length ? jpegs : image.renditions),
  });
  return (
    <figure className="hero">
      <picture>
        {sources.map((source) => (
          <source key={source.type} type={source.type} srcSet={source.srcSet} sizes={common.sizes} />
        ))}
        <img {...img} alt={image.alt} style={{ backgroundColor: image.dominant_color }} />
      </picture>
      <figcaption>
        {image.caption} <span className="credit">{image.credit}</span>
      </figcaption>
    </figure>
  );
}

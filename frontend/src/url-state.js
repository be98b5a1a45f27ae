// The shareable state in the URL hash: `#source=...&values=...&step=12`. Pure.

/** The hash for a state {source, values, step}: URI-encoded fields, empty ones left out. */
export function encodeHash({ source = "", values = "", step = 0 }) {
  const parts = [];
  if (source) parts.push(`source=${encodeURIComponent(source)}`);
  if (values) parts.push(`values=${encodeURIComponent(values)}`);
  if (step) parts.push(`step=${step}`);
  return parts.length ? `#${parts.join("&")}` : "";
}

/** The state held by a hash ("#..." or "..."); null when it holds no source. */
export function decodeHash(hash) {
  const text = (hash || "").replace(/^#/, "");
  if (!text) return null;
  const fields = {};
  for (const part of text.split("&")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    try {
      fields[part.slice(0, eq)] = decodeURIComponent(part.slice(eq + 1));
    } catch {
      return null; // a malformed escape: ignore the whole hash
    }
  }
  if (!fields.source) return null;
  const step = Number.parseInt(fields.step ?? "0", 10);
  return { source: fields.source, values: fields.values ?? "", step: step > 0 ? step : 0 };
}

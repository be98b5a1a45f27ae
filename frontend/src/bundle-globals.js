// For the bundles only (build.mjs): elkjs's in-thread ELK, imported from npm as the global
// that elk.js's createElk() falls back to, so that a bundle sets no global of its own.
import ELK from "elkjs/lib/elk.bundled.js";

export { ELK as __chainrule_ELK };

// For the bundles only (build.mjs): what the page loads as the UMD globals d3 and ELK,
// imported from npm, so that a bundle sets no global of its own.
import * as d3 from "d3";
import ELK from "elkjs/lib/elk.bundled.js";

export { d3 as __chainrule_d3, ELK as __chainrule_ELK };

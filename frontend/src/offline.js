// The offline file: the built page dist/offline.html (build.mjs) with an answer put in the
// place held for it. Pure; chainrule/export.py does the same for `chainrule export-html`.

/** The id of the <script type="application/json"> that holds the answer. */
export const ANSWER_ID = "chainrule-answer";
/** What the template holds where the answer goes. */
export const PLACEHOLDER = "__CHAINRULE_ANSWER__";

/** The template with `answer` (the API's compact backprop answer) in it. "<" is written \u003c, so
 * that no text of the answer can close the script element that holds it. */
export function offlineHtml(template, answer) {
  if (!template.includes(PLACEHOLDER)) throw new Error("the offline template holds no place for the answer");
  const json = JSON.stringify(answer).replaceAll("<", "\\u003c");
  return template.replace(PLACEHOLDER, () => json);
}

/** The answer held in the page, or null when the page holds none (the bare template). */
export function embeddedAnswer(text) {
  try {
    const answer = JSON.parse(text);
    return answer && answer.columns && Array.isArray(answer.columns.nodes?.op) ? answer : null;
  } catch {
    return null;
  }
}

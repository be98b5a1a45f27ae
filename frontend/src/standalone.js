// The player alone, on a page of its own: the embed view (/embed#source=...&values=..., which
// asks the server, for an iframe in course notes) and the offline file (the answer embedded
// in the page by `chainrule export-html` or the page's Export HTML; no server, no network).

import { backprop } from "./api.js";
import { ANSWER_ID, embeddedAnswer } from "./offline.js";
import { createPlayerView } from "./player-view.js";
import { decodeHash, encodeHash } from "./url-state.js";
import { parseValues } from "./values.js";

const view = createPlayerView(document.getElementById("player-root"),
  { keyTarget: document, page: true });

async function start() {
  const holder = document.getElementById(ANSWER_ID);
  if (holder) {
    const answer = embeddedAnswer(holder.textContent);
    if (!answer) return view.showMessage("This file holds no answer to play.");
    await view.show(answer, Number(new URLSearchParams(location.hash.slice(1)).get("step")) || 0);
    document.title = `chainrule: ${view.title}`;
    return view;
  }
  const saved = decodeHash(location.hash);
  if (!saved) {
    return view.showMessage("Nothing to play: an embed link names a source, as in " +
      "/embed#source=sin(x*y)&values=x=1.5,y=2");
  }
  try {
    const result = await backprop(saved.source, parseValues(saved.values), true,
      { mode: saved.mode ?? "reverse", wrt: saved.wrt || null });
    await view.show(result, saved.step, { link: `./${encodeHash(saved)}` });
    document.title = `chainrule: ${view.title}`;
  } catch (err) {
    view.showMessage(err.message);
  }
}

start();

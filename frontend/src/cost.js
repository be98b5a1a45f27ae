// The cost of each way to get every ∂L/∂input, from the API's `cost`. Pure.

/** The rows of the "Cost of each method" table and the sentence under it; from `cost`, or,
 * for an answer without it, from the check's N. Null when N is unknown. */
export function costTable(cost, check = null) {
  const n = cost?.input_elements ?? check?.elements;
  if (!Number.isInteger(n)) return null;
  const outputs = cost?.outputs ?? 1;
  const rows = [
    { method: "reverse", name: "Reverse mode (backprop)", formula: "1 forward + 1 backward, for all N",
      passes: cost?.reverse?.passes ?? 1,
      note: cost?.reverse?.note ?? "One backward pass gives ∂L/∂input for all N inputs at once." },
    { method: "forward", name: "Forward mode", formula: "N: one per input element", passes: cost?.forward?.passes ?? n,
      note: cost?.forward?.note ?? "One pass per input element: each gives one column, ∂L/∂xᵢ." },
    { method: "finite_differences", name: "Finite differences", formula: "2N evaluations",
      passes: cost?.finite_differences?.passes ?? 2 * n,
      note: cost?.finite_differences?.note ?? "Two evaluations per input element (central difference), and only approximate." },
  ];
  return { n, outputs, rows, sentence: verdict(n, outputs) };
}

function verdict(n, outputs) {
  const inputs = `${n} input element${n === 1 ? "" : "s"}`;
  const outs = `${outputs} output${outputs === 1 ? "" : "s"}`;
  if (n <= 1) {
    return `Here ${outs} and ${inputs}: forward and reverse mode cost the same. Reverse mode wins ` +
      "when there is one output and many inputs, as with a loss and its parameters.";
  }
  return `Here ${outs} and ${inputs}: reverse mode gets all ${n} partial derivatives from one ` +
    `backward pass, forward mode needs ${n} passes and finite differences ${2 * n} evaluations. ` +
    "Reverse mode wins when there is one output and many inputs (a loss and its parameters); " +
    "forward mode wins when there are few inputs and many outputs.";
}

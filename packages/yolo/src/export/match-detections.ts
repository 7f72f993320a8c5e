// Comparing two detectors' outputs after NMS as sets: float32 noise reorders near-equal scores and can
// move a box across the confidence threshold or an NMS overlap, so rows are matched, not compared in order.

/** How two lists of detections (rows x1 y1 x2 y2 conf cls) agree. */
export interface DetectionMatch {
  /** pairs with the same class, box corners within boxTol (relative) and confidences within confTol */
  matched: number;
  /** rows of the first / second list that found no partner */
  onlyA: number;
  onlyB: number;
  /** over the matched pairs: corner difference relative to max(1, |corner|, box width, box height), and |Δconf| */
  maxBoxDiff: number;
  maxConfDiff: number;
  /** both lists bit-equal, row for row */
  exact: boolean;
}

/** Corner difference of rows a and b relative to max(1, |corner|, b's width, b's height). */
function boxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const size = Math.max(b[2] - b[0], b[3] - b[1]);
  let d = 0;
  for (let c = 0; c < 4; c++) d = Math.max(d, Math.abs(a[c] - b[c]) / Math.max(1, Math.abs(b[c]), size));
  return d;
}

/** Greedy one-to-one matching: each row of a takes the closest unmatched row of b within tolerance. */
export function matchDetections(a: number[][], b: number[][], boxTol: number, confTol: number): DetectionMatch {
  const used = new Array<boolean>(b.length).fill(false);
  let matched = 0;
  let maxBoxDiff = 0;
  let maxConfDiff = 0;
  for (const ra of a) {
    let best = -1;
    let bestDiff = Infinity;
    b.forEach((rb, j) => {
      if (used[j] || rb[5] !== ra[5] || Math.abs(rb[4] - ra[4]) > confTol) return;
      const d = boxDiff(ra, rb);
      if (d <= boxTol && d < bestDiff) [best, bestDiff] = [j, d];
    });
    if (best < 0) continue;
    used[best] = true;
    matched++;
    maxBoxDiff = Math.max(maxBoxDiff, bestDiff);
    maxConfDiff = Math.max(maxConfDiff, Math.abs(b[best][4] - ra[4]));
  }
  const exact = a.length === b.length && a.every((r, i) => r.every((v, c) => v === b[i][c]));
  return { matched, onlyA: a.length - matched, onlyB: b.length - matched, maxBoxDiff, maxConfDiff, exact };
}

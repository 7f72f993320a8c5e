// Grad-mode scopes and a finite-difference gradient check.
import { native } from './native.js';

/** Runs fn with gradient recording off (torch.no_grad()). */
export function noGrad<T>(fn: () => T): T {
  const prev = native.gradEnabled(false);
  try {
    return fn();
  } finally {
    native.gradEnabled(prev);
  }
}

/** Runs fn with gradient recording on (torch.enable_grad()). */
export function enableGrad<T>(fn: () => T): T {
  const prev = native.gradEnabled(true);
  try {
    return fn();
  } finally {
    native.gradEnabled(prev);
  }
}

export function isGradEnabled(): boolean {
  const prev = native.gradEnabled();
  return prev;
}

/** Runs fn in inference mode (torch.inference_mode()): no autograd bookkeeping at all. */
export function inferenceMode<T>(fn: () => T): T {
  native.enterInferenceMode();
  try {
    return fn();
  } finally {
    native.exitInferenceMode();
  }
}

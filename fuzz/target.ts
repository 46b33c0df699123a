/** A fuzz target: seed inputs, and a function that must only ever return or throw a ShoalError. */
export interface FuzzTarget {
  seeds(): Uint8Array[];
  /** Must return, or throw a ShoalError; anything else is a bug and fails the run. */
  run(input: Uint8Array): void;
  /** What the run reached (outcome counts), printed at the end. */
  report?(): string;
}

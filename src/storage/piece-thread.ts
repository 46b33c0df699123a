/**
 * The entry point of a piece thread (started by `piece-threads.ts`): runs each
 * {@link PieceTask} it is sent, one at a time, and moves the piece's buffer back with the
 * answer. A plain worker thread that loads only `piece-task.ts`: little beyond the isolate.
 */
import { parentPort } from 'node:worker_threads';
import { type PiecesFailure, type PieceTask, runPieceTask } from './piece-task.js';

/** A task as the thread receives it. */
export interface PieceThreadRequest {
  readonly id: number;
  readonly task: PieceTask;
}

/** The answer: the piece's buffer (moved back), or the write that failed. */
export interface PieceThreadResponse {
  readonly id: number;
  readonly result: Uint8Array | PiecesFailure;
}

const port = parentPort;
if (port === null) throw new Error('piece-thread.ts runs as a worker thread');
port.on('message', ({ id, task }: PieceThreadRequest) => {
  const result = runPieceTask(task);
  const answer: PieceThreadResponse = { id, result };
  // Moved back, not copied: the caller reuses the buffer for its next piece.
  port.postMessage(answer, result instanceof Uint8Array ? [result.buffer as ArrayBuffer] : []);
});

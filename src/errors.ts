// One error type for everything a user can cause (bad file, bad argument, bad shape).
// The CLI prints its message as one line, without a stack trace; anything else that
// escapes is a bug in the engine and is printed with its stack.
export class EngineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineError';
  }
}

export function fail(message: string): never {
  throw new EngineError(message);
}

/**
 * The protocol's error codes in one registry (shared/docs/protocol.md, "Error codes").
 * Spellings such as ERROR_UNKNOW_450x450_QUESTION and ERROR_NO_SUCH_CAPCHA_ID are the
 * vendor's own: clients compare these strings, so they must not be "fixed".
 */
export const ERROR_CODES = {
  ERROR_KEY_DOES_NOT_EXIST: 'missing or unknown clientKey',
  ERROR_ZERO_BALANCE: "balance below the task's price",
  ERROR_TASK_NOT_SUPPORTED: 'task.type is not one gridlens serves',
  ERROR_REQUIRED_FIELDS: 'a required field is missing or of the wrong type',
  ERROR_PARSE_IMAGE_FAIL: 'image is not valid base64 or not a decodable image',
  ERROR_ILLEGAL_IMAGE: "the image's size is none of 100/300/450 square",
  ERROR_UNKNOWN_QUESTION: 'question is not in the table',
  ERROR_UNKNOW_450x450_QUESTION: 'the question is not answerable on a 4x4 image',
  ERROR_CAPTCHA_UNSOLVABLE: 'the model has no trained class for this question',
  ERROR_NO_SUCH_CAPCHA_ID: 'getTaskResult for an unknown, expired or foreign task id',
  ERROR_TOO_MUCH_REQUESTS: "the key's rate limit is exceeded",
  ERROR_THREADS_MAXIMUM: "the key's limit of tasks in flight is reached",
  // Anti-Captcha's name for "no capacity now, retry": overload is not an outage (issue 19)
  ERROR_NO_SLOT_AVAILABLE: 'the server is at capacity (connections, database pool); nothing was done or charged, retry shortly',
  ERROR_SERVICE_UNAVALIABLE: 'a dependency (database, cache, model) is unavailable',
  ERROR_INTERNAL_SERVER_ERROR: 'anything unexpected',
  // Anti-Captcha's code for "request to API made with method which does not exist"; HTTP 404
  ERROR_NO_SUCH_METHOD: 'the path (or method) is not an endpoint of the service',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** A protocol-level failure: becomes {errorId: 1, errorCode, errorDescription} with HTTP 200. */
export class ProtocolError extends Error {
  readonly errorCode: ErrorCode;

  constructor(errorCode: ErrorCode, description: string) {
    super(description);
    this.name = 'ProtocolError';
    this.errorCode = errorCode;
  }
}

export interface ErrorEnvelope {
  errorId: 1;
  errorCode: ErrorCode;
  errorDescription: string;
}

export function envelopeOf(err: ProtocolError): ErrorEnvelope {
  return { errorId: 1, errorCode: err.errorCode, errorDescription: err.message };
}

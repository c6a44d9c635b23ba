/**
 * An error the Toxiproxy API answers with: `message` becomes the body's `error` and `status` its HTTP status,
 * exactly as the real server's `ApiError`.
 */
export class ApiError extends Error {
  override readonly name: string = "ApiError";
  /** HTTP status of the reply (400, 404, 409 or 500). */
  readonly status: number;

  constructor(message: string, status: number, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
  }
}

/** The fixed messages of the real server's error catalogue. */
export const API_ERRORS = {
  proxyNotFound: () => new ApiError("proxy not found", 404),
  proxyAlreadyExists: () => new ApiError("proxy already exists", 409),
  invalidStream: () => new ApiError("stream was invalid, can be either upstream or downstream", 400),
  invalidToxicType: () => new ApiError("invalid toxic type", 400),
  toxicAlreadyExists: () => new ApiError("toxic already exists", 409),
  toxicNotFound: () => new ApiError("toxic not found", 404),
  missingField: (what: string) => new ApiError(`missing required field: ${what}`, 400),
} as const;

/**
 * No network at run time (issue 19, case 5): onnxruntime-node (1.2x, posix telemetry.cc) looks up
 * and posts to mobile.events.data.microsoft.com unless ORT_DISABLE_TELEMETRY is set in the
 * environment its native code reads with getenv(). Setting process.env on the main thread calls
 * setenv() for the whole process, so every worker thread's onnxruntime sees it too; workers also
 * get it in their own env copy and set it again before they import onnxruntime.
 */
export const TELEMETRY_OFF = { ORT_DISABLE_TELEMETRY: '1' } as const;

/** Call before any onnxruntime session is created; idempotent. */
export function disableOrtTelemetry(): void {
  Object.assign(process.env, TELEMETRY_OFF);
}

/**
 * Imports the built-in log types for their registration side effect, so
 * `createDirtyLog('core', ...)` and `createDirtyLog('disk', ...)` work after
 * `import './builtin-logs.js'`. A new built-in log type adds one import here.
 */
import './core-log.js';
import './disk-log.js';
import './userspace/userspace-log-type.js';

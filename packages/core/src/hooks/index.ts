export * from './auth-hook.js';

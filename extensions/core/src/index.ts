export * from './bus';
export * from './client';
export * from './errors';
export * from './events';
export * from './session';
export * from './tokens';
export * from './types';

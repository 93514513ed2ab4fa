export * from './bus';
export * from './client';
export * from './errors';
export * from './tokens';
export * from './types';

export * from './profile-dataset';

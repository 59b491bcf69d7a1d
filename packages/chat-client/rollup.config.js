import typescript from '@rollup/plugin-typescript';

// Dependencies stay external: the app's bundler resolves (and dedupes) them.
export default {
  input: 'src/index.ts',
  external: ['@motoreach/protocol'],
  output: { dir: 'dist', format: 'esm', sourcemap: true },
  plugins: [typescript({ tsconfig: './tsconfig.build.json', module: 'NodeNext' })],
};

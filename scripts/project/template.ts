/** The files `aios init DIR` writes: a project that builds as it is and shows each kind of input. */
export function projectTemplate(name: string): Record<string, string> {
  const aiosJson = {
    overlay: ['overlay'],
    packages: [],
    kernel: { fragments: ['kernel/project.config'] },
    services: [
      {
        name: 'hello',
        command: '/bin/sh',
        args: ['-c', 'cat /etc/motd; exec sleep 2147483647'],
        restart: 'always',
        memoryMax: '16M',
      },
    ],
    images: [],
    hooks: { postinst: '', postinstInputs: [], finalize: '' },
  };
  return {
    'aios.json': JSON.stringify(aiosJson, null, 2) + '\n',
    'kernel/project.config': [
      "# Kernel options of this project, merged after aiOS's own fragments; `aios config` proves each",
      '# one landed. Say why each line is here. Adding one rebuilds the kernel (ccache keeps it short).',
      '',
    ].join('\n'),
    'overlay/etc/motd': `${name}: built with aiOS\n`,
    // The build keeps the project's access tokens in .aios/: never in git.
    '.gitignore': 'out/\n.aios/\n',
    'README.md': [
      `# ${name}`,
      '',
      'An aiOS project. `aios build` (in this directory, or with `--project DIR`) builds its image;',
      '`aios check` boots it and judges the checklist; `aios run` boots it on this terminal.',
      '',
      '- `aios.json`: what goes into the image. Relative paths resolve against this directory.',
      '- `overlay/`: files copied over the root filesystem (owner root, times SOURCE_DATE_EPOCH).',
      "- `kernel/project.config`: kernel options merged after aiOS's own.",
      '- `packages`: Debian packages (with their dependencies; maintainer scripts are not run).',
      '- `services`: aios-init services, the same keys as /etc/aios/init.json.',
      '- `images`: container images from the Docker engine (`ref`) or a `docker save` tarball.',
      '- `hooks`: `postinst` and `finalize` scripts (AIOS_ROOT, AIOS_OUT, AIOS_PROJECT, SOURCE_DATE_EPOCH);',
      '  `postinstInputs` lists what postinst reads, or the root filesystem is rebuilt every time.',
      '- `allow`: the setuid files and device nodes the image may hold; any other fails the build.',
      '- `.aios/tokens.json`: the tokens the status endpoint and llama-server require (made by the',
      '  first build, mode 0600; `auth` in aios.json turns them off). Keep it out of git.',
      '',
    ].join('\n'),
  };
}

package dev.tollgate.proxy.cli;

import picocli.CommandLine;

/** The version printed by {@code --version}: the jar's implementation version, or "development". */
final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
        String version = Version.class.getPackage().getImplementationVersion();
        return new String[] {"tollgate " + (version == null ? "(development build)" : version)};
    }
}

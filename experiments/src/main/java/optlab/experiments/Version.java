package optlab.experiments;

import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/**
 * OptLab's version and the git commit it was built from: {@code optlab/version.properties} (the Maven project version,
 * filtered in) and {@code optlab/git.properties} (written at build time by git-commit-id-maven-plugin; absent when
 * built outside a git checkout). {@code bin/optlab --version} prints it; every run records {@link #record()}.
 */
public final class Version implements IVersionProvider {
    /** version, git_commit, git_dirty, git_commit_time; "unknown" for what the build did not record. */
    public static Map<String, String> record() {
        Properties v = load("/optlab/version.properties"), g = load("/optlab/git.properties");
        Map<String, String> out = new LinkedHashMap<>();
        out.put("version", v.getProperty("version", "unknown"));
        out.put("git_commit", g.getProperty("git.commit.id.full", "unknown"));
        out.put("git_dirty", g.getProperty("git.dirty", "unknown"));
        out.put("git_commit_time", g.getProperty("git.commit.time", "unknown"));
        return out;
    }

    private static Properties load(String resource) {
        Properties p = new Properties();
        try (InputStream in = Version.class.getResourceAsStream(resource)) {
            if (in != null) p.load(in);
        } catch (IOException e) {
            // a missing or unreadable file leaves the fields "unknown"
        }
        return p;
    }

    /** One line: {@code OptLab 0.1.0-SNAPSHOT (git 1a2b3c4..., uncommitted changes)}. */
    public static String line() {
        Map<String, String> r = record();
        String dirty = "true".equals(r.get("git_dirty")) ? ", with uncommitted changes" : "";
        return "OptLab " + r.get("version") + " (git commit " + r.get("git_commit") + dirty + ")";
    }

    @Override
    public String[] getVersion() {
        return new String[] {line(), "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")"};
    }
}

package dev.bluegreen.bench;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import dev.bluegreen.bench.driver.ControlProtocol;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** What the package-infos promise: the proxy's classes are loaded by the driver alone, in its own JVM. */
class PackageDependenciesTest {

    private static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.bluegreen.bench");
    }

    @Test
    void theHarnessNeverLoadsTheProxysClassesOrNetty() {
        noClasses().that().resideInAPackage("dev.bluegreen.bench")
                .should().dependOnClassesThat().resideInAnyPackage("dev.bluegreen.proxy..", "dev.bluegreen.config..",
                        "io.netty..")
                .check(classes);
    }

    @Test
    void theControlProtocolTheHarnessSharesWithTheDriverLoadsNoneEither() {
        noClasses().that().haveNameMatching(Pattern.quote(ControlProtocol.class.getName()) + "(\\$.*)?")
                .should().dependOnClassesThat().resideInAnyPackage("dev.bluegreen.proxy..", "dev.bluegreen.config..",
                        "io.netty..")
                .check(classes);
    }
}

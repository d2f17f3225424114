package dev.bluegreen.proxy;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The dependency direction each package-info promises: protocol and auth at the bottom, server at the top. */
class PackageDependenciesTest {

    private static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.bluegreen.proxy");
    }

    @Test
    void protocolKnowsNothingOfSessionsAuthOrConfiguration() {
        noClasses().that().resideInAPackage("..proxy.protocol..")
                .should().dependOnClassesThat().resideInAnyPackage("..proxy.session..", "..proxy.server..",
                        "..proxy.auth..", "dev.bluegreen.config..")
                .check(classes);
    }

    @Test
    void authIsPureAndKnowsNothingOfNetty() {
        noClasses().that().resideInAPackage("..proxy.auth..")
                .should().dependOnClassesThat().resideInAnyPackage("io.netty..", "..proxy.session..",
                        "..proxy.server..", "..proxy.protocol..")
                .check(classes);
    }

    @Test
    void sessionsDoNotReachUpIntoTheServerBootstrap() {
        noClasses().that().resideInAPackage("..proxy.session..")
                .should().dependOnClassesThat().resideInAnyPackage("..proxy.server..", "dev.bluegreen.embedded..")
                .check(classes);
    }

    @Test
    void dualWriteAndControlStayBelowSessionsAndTheServer() {
        noClasses().that().resideInAnyPackage("..proxy.dualwrite..", "..proxy.control..", "..proxy.routing..")
                .should().dependOnClassesThat().resideInAnyPackage("..proxy.session..", "..proxy.server..",
                        "..proxy.admin..", "..proxy.metrics..")
                .check(classes);
    }

    @Test
    void theAdminApiReadsControlAndFiguresButNeverSessionsOrTheWire() {
        noClasses().that().resideInAPackage("..proxy.admin..")
                .should().dependOnClassesThat().resideInAnyPackage("..proxy.session..", "..proxy.server..",
                        "..proxy.protocol..", "..proxy.auth..", "dev.bluegreen.embedded..")
                .check(classes);
    }

    @Test
    void onlyTheServerAndMainWireTheAdminApi() {
        noClasses().that().resideOutsideOfPackages("..proxy.admin..", "..proxy.server..")
                .and().doNotHaveFullyQualifiedName("dev.bluegreen.proxy.Main")
                .should().dependOnClassesThat().resideInAPackage("..proxy.admin..")
                .check(classes);
    }

    @Test
    void stateStoresKnowNothingOfNettySessionsTheServerOrTheAdminApi() {
        noClasses().that().resideInAPackage("..proxy.store..")
                .should().dependOnClassesThat().resideInAnyPackage("io.netty..", "..proxy.session..",
                        "..proxy.server..", "..proxy.admin..")
                .check(classes);
    }

    @Test
    void metricsKnowNothingOfNettyOrWhoServesThem() {
        noClasses().that().resideInAPackage("..proxy.metrics..")
                .should().dependOnClassesThat().resideInAnyPackage("io.netty..", "..proxy.session..",
                        "..proxy.server..", "..proxy.admin..", "..proxy.protocol..")
                .check(classes);
    }
}

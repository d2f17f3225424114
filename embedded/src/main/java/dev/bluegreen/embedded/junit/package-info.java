/** The JUnit extension that hands every test class the shared blue/green pair; depends on the embedded API only. */
package dev.bluegreen.embedded.junit;

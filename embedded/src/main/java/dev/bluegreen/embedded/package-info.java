/** Starts real local PostgreSQL clusters from Maven Central binaries; depends on pgjdbc and commons-compress only. */
package dev.bluegreen.embedded;

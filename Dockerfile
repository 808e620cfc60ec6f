# promptfleet: one image, every process (dispatcher, worker, simulator); the command picks which.
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY . .
RUN mvn -B -q -DskipTests package

FROM eclipse-temurin:17-jre
WORKDIR /app
COPY --from=build /src/launcher/target/promptfleet.jar /app/promptfleet.jar
COPY --from=build /src/launcher/target/lib /app/lib
COPY config /app/config
USER 10001
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-jar", "/app/promptfleet.jar"]
CMD ["--help"]
